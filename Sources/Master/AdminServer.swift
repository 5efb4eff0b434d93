import NIOCore
import NIOHTTP1
import NIOPosix
import Shared

/// One admin answer, independent of the transport (so the routes are testable without a socket).
struct AdminResponse: Sendable, Equatable {
    var status: Int
    var contentType: String
    var body: String
}

/// The admin routes: `GET /health` (JSON, 200/503) and `GET /metrics` (Prometheus text).
struct AdminRoutes: Sendable {
    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Also the source of the Redis state and the fleet view (`NodeMetrics.healthContributor`).
    let metrics: NodeMetrics

    func respond(method: String, uri: String) -> AdminResponse {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first
            .map(String.init) ?? uri
        switch path {
        case "/health", "/metrics":
            guard method == "GET" || method == "HEAD" else {
                return AdminResponse(status: 405, contentType: "application/json",
                                     body: #"{"error":"method not allowed"}"#)
            }
            if path == "/health" {
                let report = HealthReport(node: metrics.status, redis: metrics.redisHealth, uptime: metrics.uptime,
                                          version: metrics.version)
                return AdminResponse(status: report.httpStatus, contentType: "application/json", body: report.body)
            }
            return AdminResponse(status: 200, contentType: Self.prometheusContentType,
                                 body: metrics.render() + metrics.healthContributor.fleetMetricsText())
        default:
            return AdminResponse(status: 404, contentType: "application/json", body: #"{"error":"not found"}"#)
        }
    }
}

/// The master's admin listener (ADMIN_HOST:ADMIN_PORT): HTTP/1.1 on SwiftNIO.
final class AdminServer: Sendable {
    let channel: any Channel
    /// The bound port (the kernel's choice when ADMIN_PORT is 0).
    let port: Int

    private init(channel: any Channel) {
        self.channel = channel
        port = channel.localAddress?.port ?? -1
    }

    static func start(group: any EventLoopGroup, host: String, port: Int, routes: AdminRoutes) throws -> AdminServer {
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                }
            }
            .bind(host: host, port: port).wait()
        return AdminServer(channel: channel)
    }

    func close() {
        try? channel.close().wait()
    }
}

final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: AdminRoutes
    private var head: HTTPRequestHead?

    init(routes: AdminRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break  // no admin route takes a body
        case .end:
            guard let head else { return }
            self.head = nil
            let response = routes.respond(method: head.method.rawValue, uri: head.uri)
            let body = head.method == .HEAD ? "" : response.body
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: response.contentType)
            headers.add(name: "content-length", value: String(response.body.utf8.count))
            headers.add(name: "cache-control", value: "no-store")
            if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
            let responseHead = HTTPResponseHead(
                version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            if !body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))),
                              promise: nil)
            }
            if head.isKeepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
