#include "gateway/proxy/admin_server.h"

#include "gateway/common/log.h"
#include "gateway/http/parser.h"
#include "gateway/proxy/supervisor.h"
#include "gateway/proxy/write_request.h"

namespace gw::proxy {
namespace {

constexpr size_t kMaxAdminHeaderBytes = 8192;
// An admin client has kAdminTimeoutMs to send its request. At most
// kMaxAdminConnections are open at once, and more are closed on accept.
constexpr uint64_t kAdminTimeoutMs = 5000;
constexpr int kMaxAdminConnections = 64;
int g_admin_connections = 0;

std::string response(int status, const char* content_type, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + http::reasonPhrase(status) +
         "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + body;
}

// AdminConnection reads one request, replies and closes. It deletes
// itself in the close callback.
class AdminConnection : public http::ParserHandler {
 public:
  explicit AdminConnection(AdminServer* admin)
      : admin_(admin), parser_(http::MessageKind::Request, this, kMaxAdminHeaderBytes) {
    tcp_.data = this;
    timer_.data = this;
    g_admin_connections++;
  }

  ~AdminConnection() override { g_admin_connections--; }

  void start(uv_loop_t* loop, uv_stream_t* listener) {
    uv_tcp_init(loop, &tcp_);
    uv_timer_init(loop, &timer_);
    if (uv_accept(listener, stream()) != 0 || g_admin_connections > kMaxAdminConnections) {
      closeNow();
      return;
    }
    uv_timer_start(
        &timer_, [](uv_timer_t* timer) { static_cast<AdminConnection*>(timer->data)->closeNow(); },
        kAdminTimeoutMs, 0);
    uv_read_start(stream(), onAlloc, onRead);
  }

  http::HeadAction onHead(http::MessageHead& head) override {
    method_ = head.method;
    path_ = head.target.substr(0, head.target.find('?'));
    return http::HeadAction::Continue;
  }
  void onBody(std::string_view) override {}
  void onMessageComplete() override { complete_ = true; }

 private:
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }

  static void onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    static char buffer[8192];
    *buf = uv_buf_init(buffer, sizeof(buffer));
  }

  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<AdminConnection*>(stream->data);
    if (nread < 0) {
      self->closeNow();
      return;
    }
    if (nread == 0 || self->answered_) {
      return;
    }
    http::FeedResult result =
        self->parser_.feed(std::string_view(buf->base, static_cast<size_t>(nread)));
    if (result.status == http::ParseStatus::Error) {
      self->send(response(400, "text/plain", "Bad request\n"));
    } else if (self->complete_) {
      self->send(self->admin_->respond(self->method_, self->path_));
    }
  }

  void send(std::string data) {
    answered_ = true;
    uv_read_stop(stream());
    if (WriteRequest::start(stream(), std::move(data), onWrite) != 0) {
      closeNow();
    }
  }

  static void onWrite(uv_write_t* req, int) {
    auto* self = static_cast<AdminConnection*>(req->handle->data);
    delete reinterpret_cast<WriteRequest*>(req);
    self->closeNow();
  }

  // closeNow closes both handles; the object is deleted in the second
  // close callback.
  void closeNow() {
    if (closing_) {
      return;
    }
    closing_ = true;
    auto on_close = [](uv_handle_t* handle) {
      auto* self = static_cast<AdminConnection*>(handle->data);
      if (++self->closed_handles_ == 2) {
        delete self;
      }
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
  }

  AdminServer* admin_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  bool closing_ = false;
  int closed_handles_ = 0;
  http::Parser parser_;
  std::string method_;
  std::string path_;
  bool complete_ = false;
  bool answered_ = false;
};

}  // namespace

AdminServer::~AdminServer() {
  close();
}

Status AdminServer::listen(const config::ListenAddress& address) {
  address_ = listenAddressText(address);
  sockaddr_storage storage{};
  int rc = toSockaddr(address, &storage);
  listener_ = new uv_tcp_t;
  uv_tcp_init(loop_, listener_);
  listener_->data = this;
  if (rc == 0) {
    rc = uv_tcp_bind(listener_, reinterpret_cast<sockaddr*>(&storage), 0);
  }
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 64, onConnection);
  }
  if (rc != 0) {
    close();
    return Error{"cannot listen on admin address " + address_ + ": " + uv_strerror(rc)};
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  address_ = formatAddress(reinterpret_cast<sockaddr*>(&bound));
  return okStatus();
}

void AdminServer::close() {
  if (listener_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
    listener_ = nullptr;
  }
}

void AdminServer::onConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<AdminServer*>(listener->data);
  if (status != 0) {
    log::warn("admin.accept_error", {{"error", uv_strerror(status)}});
    return;
  }
  auto* connection = new AdminConnection(self);
  connection->start(self->loop_, listener);
}

std::string AdminServer::respond(const std::string& method, const std::string& path) {
  bool known =
      path == "/metrics" || path == "/healthz" || path == "/readyz" || path == "/identities";
  if (!known) {
    return response(404, "text/plain",
                    "Not found; try /metrics, /healthz, /readyz or /identities\n");
  }
  if (method != "GET") {
    return response(405, "text/plain", "Method not allowed; use GET\n");
  }
  if (path == "/metrics") {
    return response(200, "text/plain; version=0.0.4; charset=utf-8", supervisor_->renderMetrics());
  }
  if (path == "/healthz") {
    return response(200, "text/plain", "ok\n");
  }
  if (path == "/readyz") {
    std::string reason;
    bool ready = supervisor_->ready(&reason);
    return response(ready ? 200 : 503, "text/plain", reason + "\n");
  }
  return response(200, "application/json", supervisor_->identitiesJson());
}

}  // namespace gw::proxy
