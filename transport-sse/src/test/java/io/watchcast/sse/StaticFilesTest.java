package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class StaticFilesTest {
  private static final String SECRET = "TOP-SECRET-7f3a9c";

  @TempDir Path dir;

  private Path root() throws Exception {
    Path root = Files.createDirectories(dir.resolve("root"));
    Files.writeString(root.resolve("index.html"), "<!doctype html><title>dash</title>");
    Files.writeString(root.resolve("app.js"), "console.log(1)");
    Files.writeString(root.resolve("style.css"), "body{}");
    Files.createDirectories(root.resolve("sub"));
    Files.writeString(root.resolve("sub/data.json"), "{\"a\":1}");
    Files.writeString(dir.resolve("secret.txt"), SECRET);
    try {
      Files.createSymbolicLink(root.resolve("link.txt"), dir.resolve("secret.txt"));
      Files.createSymbolicLink(root.resolve("linkdir"), dir);
    } catch (UnsupportedOperationException | java.io.IOException e) {
      // no symlinks here: those cases are skipped
    }
    return root;
  }

  @Test
  void files_areServedWithContentTypesAndCachingHeaders() throws Exception {
    Path root = root();
    try (Harness h = Harness.start(b -> b.staticFiles(root))) {
      HttpResponse<String> index = h.get("/index.html");
      assertThat(index.statusCode()).isEqualTo(200);
      assertThat(index.body()).contains("dash");
      assertThat(index.headers().firstValue("content-type").orElse("")).startsWith("text/html");
      assertThat(index.headers().firstValue("cache-control")).hasValue("no-cache");
      assertThat(index.headers().firstValue("last-modified")).isPresent();
      String etag = index.headers().firstValue("etag").orElseThrow();
      assertThat(h.get("/index.html", "If-None-Match", etag).statusCode()).isEqualTo(304);
      assertThat(h.get("/").body()).contains("dash");
      assertThat(h.get("/app.js").headers().firstValue("content-type").orElse(""))
          .containsAnyOf("text/javascript", "application/javascript");
      assertThat(h.get("/style.css").headers().firstValue("content-type").orElse(""))
          .startsWith("text/css");
      assertThat(h.get("/sub/data.json").headers().firstValue("content-type").orElse(""))
          .startsWith("application/json");
      assertThat(h.get("/missing.html").statusCode()).isEqualTo(404);
      assertThat(h.get("/sub/").statusCode()).isIn(403, 404);
    }
  }

  @Test
  void staticCacheControl_isConfigurable() throws Exception {
    Path root = root();
    try (Harness h = Harness.start(b -> b.staticFiles(root).staticCacheControl("max-age=60"))) {
      assertThat(h.get("/app.js").headers().firstValue("cache-control")).hasValue("max-age=60");
    }
  }

  @Test
  void pathTraversal_neverLeavesTheRoot() throws Exception {
    Path root = root();
    try (Harness h = Harness.start(b -> b.staticFiles(root))) {
      List<String> attempts =
          List.of(
              "/../secret.txt",
              "/%2e%2e/secret.txt",
              "/%2E%2E/secret.txt",
              "/%2e%2e%2fsecret.txt",
              "/..%2fsecret.txt",
              "/..%5csecret.txt",
              "/..\\secret.txt",
              "/sub/../../secret.txt",
              "/sub/%2e%2e/%2e%2e/secret.txt",
              "/sub/..%2f..%2fsecret.txt",
              "/%252e%252e/secret.txt",
              "/.%2e/secret.txt",
              "//" + dir.resolve("secret.txt"),
              "/" + dir.resolve("secret.txt").toString().replace("/", "%2f"),
              "/link.txt",
              "/linkdir/secret.txt",
              "/index.html%00.txt",
              "/sub/..;/..;/secret.txt",
              "http://127.0.0.1/../secret.txt",
              "/%c0%ae%c0%ae/secret.txt");
      for (String target : attempts) {
        String response =
            h.raw("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        assertThat(response).as(target).doesNotContain(SECRET);
        int status = Integer.parseInt(response.substring(9, 12));
        assertThat(status)
            .as(target + ": " + response.lines().findFirst().orElse(""))
            .isBetween(400, 499);
      }
    }
  }

  @Test
  void classpathRoot_servesResources() throws Exception {
    try (Harness h = Harness.start(b -> b.staticClasspath("web/"))) {
      HttpResponse<String> r = h.get("/hello.txt");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("hello from the classpath");
      assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
      assertThat(h.get("/").body()).contains("<title>cp</title>");
      String response =
          h.raw("GET /../web/hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
      assertThat(response).startsWith("HTTP/1.1 4");
    }
  }

  @Test
  void clientScript_isServedFromTheClasspath_withRevalidation() throws Exception {
    ClassLoader loader = getClass().getClassLoader();
    try (Harness h = Harness.start(b -> b.clientScript(loader, "testclient/watchcast.js"))) {
      HttpResponse<String> r = h.get("/watchcast.js");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("window.Watchcast");
      assertThat(r.headers().firstValue("content-type")).hasValue("text/javascript; charset=utf-8");
      assertThat(r.headers().firstValue("cache-control")).hasValue("no-cache");
      String etag = r.headers().firstValue("etag").orElseThrow();
      assertThat(h.get("/watchcast.js", "If-None-Match", etag).statusCode()).isEqualTo(304);
    }
  }

  @Test
  void clientScript_absent_is404() throws Exception {
    ClassLoader loader = getClass().getClassLoader();
    try (Harness h = Harness.start(b -> b.clientScript(loader, "nowhere/watchcast.js"))) {
      SseStreamTest.assertError(h.get("/watchcast.js"), 404, "not_found");
    }
  }

  @Test
  void noStaticRoot_unknownPaths_are404() throws Exception {
    try (Harness h = Harness.start()) {
      assertThat(h.get("/index.html").statusCode()).isEqualTo(404);
      String response =
          h.raw("GET /../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
      assertThat(response).startsWith("HTTP/1.1 4").doesNotContain("root:");
    }
  }
}
