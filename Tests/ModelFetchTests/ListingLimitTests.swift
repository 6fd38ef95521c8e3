import Foundation
import Testing

@testable import ModelFetch

/// Listings that never end (Tests/Fixtures/fault_server.py: `repeat`, `endless`, `wide`) stop
/// with a transfer error (exit 7) instead of looping or growing without bound.
@Suite("Listing limits: repeated tokens, page and key caps", .serialized)
struct ListingLimitTests {
    func base() throws -> String { try #require(FaultTests.server, "the fault server could not start").string("base") }

    /// Requests the fault server has seen for `path`.
    func requests(_ path: String) throws -> Int { try FaultTests().log().filter { $0["path"] as? String == path }.count }

    func s3(_ bucket: String) throws -> (uri: String, env: [String: String]) {
        ("s3://\(bucket)/p/", ["AWS_ENDPOINT_URL": try base()])
    }

    func azure(_ container: String) throws -> (uri: String, env: [String: String]) {
        ("https://acct.blob.core.windows.net/\(container)/p/", ["AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=\(try base())/acct"])
    }

    func listingError(_ target: (uri: String, env: [String: String]), _ adjust: (inout Fetcher.Options) -> Void = { _ in }) throws -> FetchError? {
        let fetcher = quietFetcher(target.env)
        adjust(&fetcher.options)
        do {
            _ = try fetcher.fetchPrefix(uri: target.uri, to: Fixtures.scratch())
            Issue.record("the listing ended")
            return nil
        } catch let e as FetchError {
            return e
        }
    }

    @Test("S3: the same continuation token twice stops the listing at the second page")
    func s3RepeatedToken() throws {
        let e = try listingError(try s3("repeat"))
        #expect(e?.exitCode == 7 && e?.description.contains("page 2 repeats an earlier continuation token") == true, "\(String(describing: e))")
        #expect(try requests("/repeat/") == 2)
    }

    @Test("Azure: the same NextMarker twice stops the listing at the second page")
    func azureRepeatedMarker() throws {
        let e = try listingError(try azure("repeat"))
        #expect(e?.exitCode == 7 && e?.description.contains("page 2 repeats an earlier continuation token") == true, "\(String(describing: e))")
        #expect(try requests("/acct/repeat") == 2)
    }

    @Test("S3: fresh tokens forever stop at maxListPages")
    func s3PageCap() throws {
        let e = try listingError(try s3("endless")) { $0.maxListPages = 20 }
        #expect(e?.exitCode == 7 && e?.description.contains("still not finished after 20 pages") == true, "\(String(describing: e))")
        #expect(try requests("/endless/") == 20)
    }

    @Test("Azure: fresh markers forever stop at maxListPages")
    func azurePageCap() throws {
        let e = try listingError(try azure("endless")) { $0.maxListPages = 10 }
        #expect(e?.exitCode == 7 && e?.description.contains("still not finished after 10 pages") == true, "\(String(describing: e))")
        #expect(try requests("/acct/endless") == 10)
    }

    @Test("more keys than maxListKeys stop the listing before they are kept")
    func keyCap() throws {
        let e = try listingError(try s3("wide")) { $0.maxListKeys = 60 }
        #expect(e?.exitCode == 7 && e?.description.contains("more than 60 objects") == true, "\(String(describing: e))")
        #expect(try requests("/wide/") == 3)
    }

    @Test("the documented defaults")
    func defaults() {
        let options = Fetcher.Options()
        #expect(options.maxListPages == 1_000 && options.maxListKeys == 100_000)
        #expect(Fetcher.maxListPageBytes == 32 << 20 && Fetcher.maxListTokenBytes == 8 << 10)
    }
}
