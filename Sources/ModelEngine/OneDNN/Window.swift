/// Kernel, stride, dilation and padding of a convolution or pooling window, with ONNX's
/// `auto_pad` and `ceil_mode` resolved into explicit (possibly asymmetric) padding.
struct Window {
    var kernel: [Int]
    var strides: [Int]
    var dilations: [Int]
    var padBegin: [Int]
    var padEnd: [Int]
    var output: [Int]
    let input: [Int]

    init(_ node: Node, input: [Int], kernel: [Int], ceilMode: Bool = false) throws {
        let n = input.count
        self.input = input
        self.kernel = kernel
        strides = node.ints("strides") ?? Array(repeating: 1, count: n)
        dilations = node.ints("dilations") ?? Array(repeating: 1, count: n)
        let pads = node.ints("pads") ?? Array(repeating: 0, count: 2 * n)
        guard strides.count == n, dilations.count == n, pads.count == 2 * n, kernel.count == n,
            strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 })
        else {
            throw KernelError("window attributes do not match \(n) spatial dimensions")
        }
        padBegin = Array(pads[..<n])
        padEnd = Array(pads[n...])
        output = []
        let autoPad = node.string("auto_pad") ?? "NOTSET"
        for i in 0..<n {
            let extent = (kernel[i] - 1) * dilations[i] + 1
            switch autoPad {
            case "SAME_UPPER", "SAME_LOWER":
                let out = (input[i] + strides[i] - 1) / strides[i]
                let total = max(0, (out - 1) * strides[i] + extent - input[i])
                padBegin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                padEnd[i] = total - padBegin[i]
                output.append(out)
            case "VALID":
                padBegin[i] = 0
                padEnd[i] = 0
                output.append((input[i] - extent) / strides[i] + 1)
            default:
                let span = input[i] + padBegin[i] + padEnd[i] - extent
                var out = (ceilMode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1
                // A window may not start inside the end padding (PyTorch and ONNX agree on this).
                if ceilMode && (out - 1) * strides[i] >= input[i] + padBegin[i] { out -= 1 }
                output.append(out)
            }
            guard output[i] > 0 else { throw KernelError("window leaves no output for input size \(input[i])") }
        }
    }

    /// Padding at the end that makes oneDNN's floor rounding give `output` (for ceil mode).
    var dnnlPadEnd: [Int] {
        (0..<output.count).map { i in
            let extent = (kernel[i] - 1) * dilations[i] + 1
            return max(padEnd[i], (output[i] - 1) * strides[i] + extent - padBegin[i] - input[i])
        }
    }

    var dnnlDilations: [Int64] { dilations.map { Int64($0 - 1) } }
}
