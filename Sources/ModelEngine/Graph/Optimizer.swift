/// Graph rewrites done once at load time, before any shapes are known.
enum Optimizer {
    /// Folds `Conv → BatchNormalization` into the Conv's weights and bias when the BN is the
    /// Conv's only reader and all parameters are constants.
    static func foldBatchNorm(_ graph: inout Graph) {
        var readers: [String: Int] = [:]
        for n in graph.nodes { for i in n.inputs where !i.isEmpty { readers[i, default: 0] += 1 } }
        for o in graph.outputs { readers[o.name, default: 0] += 1 }
        var producer: [String: Int] = [:]
        for (i, n) in graph.nodes.enumerated() { for o in n.outputs { producer[o] = i } }
        var removed = Set<Int>()
        for (bi, bn) in graph.nodes.enumerated() where bn.opType == "BatchNormalization" {
            guard bn.inputs.count == 5, bn.outputs.filter({ !$0.isEmpty }).count == 1, bn.int("training_mode", default: 0) == 0,
                let ci = producer[bn.inputs[0]], graph.nodes[ci].opType == "Conv", readers[bn.inputs[0]] == 1
            else { continue }
            let conv = graph.nodes[ci]
            let c = graph.constants
            guard conv.inputs.count >= 2, let w = c[conv.inputs[1]], w.dataType == .float32,
                let gamma = c[bn.inputs[1]], let beta = c[bn.inputs[2]], let mean = c[bn.inputs[3]], let variance = c[bn.inputs[4]],
                [gamma, beta, mean, variance].allSatisfy({ $0.dataType == .float32 && $0.count == w.shape[0] })
            else { continue }
            let bias = conv.input(2).flatMap { c[$0] }
            if conv.input(2) != nil && (bias == nil || bias!.dataType != .float32) { continue }
            let eps = Double(bn.float("epsilon", default: 1e-5))
            let (g, b, m, v) = (gamma.floats, beta.floats, mean.floats, variance.floats)
            let scale = (0..<g.count).map { Double(g[$0]) / (Double(v[$0]) + eps).squareRoot() }
            let perOut = w.count / w.shape[0]
            var wf = w.floats
            for i in 0..<wf.count { wf[i] = Float(Double(wf[i]) * scale[i / perOut]) }
            let b0 = bias?.floats ?? [Float](repeating: 0, count: g.count)
            let bf = (0..<g.count).map { Float((Double(b0[$0]) - Double(m[$0])) * scale[$0] + Double(b[$0])) }
            let wName = "\(conv.name)/folded_weight"
            let bName = "\(conv.name)/folded_bias"
            graph.constants[wName] = Tensor(shape: w.shape, floats: wf)
            graph.constants[bName] = Tensor(shape: [g.count], floats: bf)
            var fusedConv = conv
            fusedConv.inputs = [conv.inputs[0], wName, bName]
            fusedConv.outputs = [bn.outputs[0]]
            graph.nodes[ci] = fusedConv
            removed.insert(bi)
        }
        graph.nodes = graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }
}
