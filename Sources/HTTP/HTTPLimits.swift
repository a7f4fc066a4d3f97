/// Size limits the parser enforces the moment each is crossed.
///
/// Defaults follow common servers: an 8 KiB request line (414), 32 KiB of header section and 100 fields (431),
/// 1 MiB of body (413), 1 GiB of a streamed body (passed on as it arrives, so memory is not the limit: the
/// upstream's own limit is). All are configurable (`http.limits` in config).
package struct HTTPLimits: Sendable, Equatable {
    package var maxRequestLineBytes: Int
    package var maxHeaderBytes: Int
    package var maxHeaderCount: Int
    package var maxBodyBytes: Int
    package var maxStreamedBodyBytes: Int

    package init(
        maxRequestLineBytes: Int = 8192, maxHeaderBytes: Int = 32 * 1024, maxHeaderCount: Int = 100,
        maxBodyBytes: Int = 1 << 20, maxStreamedBodyBytes: Int = 1 << 30
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxStreamedBodyBytes = maxStreamedBodyBytes
    }

    package static let `default` = HTTPLimits()
}
