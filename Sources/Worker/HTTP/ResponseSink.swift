import NIOHTTP1

/// Where a request's response goes: implemented by the connection handler, used by exchanges.
protocol ResponseSink: AnyObject {
    func sendHead(status: HTTPResponseStatus, headers: HTTPHeaders)
    /// Writes (a copy of `bytes`) and flushes: every SSE event goes out as it is produced.
    func sendBody(_ bytes: UnsafeRawBufferPointer)
    func sendEnd()
    /// A complete response in one go (sets content-length).
    func sendResponse(status: HTTPResponseStatus, headers: HTTPHeaders, body: [UInt8])
    var isClientWritable: Bool { get }
}
