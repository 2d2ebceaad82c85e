package io.watchcast.sse;

/**
 * A client error answer: HTTP status, stable {@code code}, message. Jetty-free; the adapter writes
 * it as {@code {"code":..,"message":..}}.
 */
final class HttpError extends Exception {
  private static final long serialVersionUID = 1L;

  final int status;
  final String code;

  HttpError(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  byte[] body() {
    return Snapshots.error(code, getMessage());
  }

  static HttpError badRequest(String code, String message) {
    return new HttpError(400, code, message);
  }
}
