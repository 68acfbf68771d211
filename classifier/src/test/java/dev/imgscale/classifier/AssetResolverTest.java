package dev.imgscale.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.assets.AssetUnavailableException;
import dev.imgscale.classifier.catalog.AssetSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AssetResolverTest {
    static final byte[] CONTENT = "a small model file\n".getBytes(StandardCharsets.UTF_8);

    static AssetSpec spec(String url) throws Exception {
        Path tmp = Files.createTempFile("asset", ".bin");
        Files.write(tmp, CONTENT);
        String sha = AssetResolver.sha256(tmp);
        Files.delete(tmp);
        return new AssetSpec("model.bin", url, CONTENT.length, sha);
    }

    @Test
    void should_find_a_file_in_the_asset_folders_before_the_cache(@TempDir Path dir) throws Exception {
        Path assets = Files.createDirectories(dir.resolve("assets"));
        Files.write(assets.resolve("model.bin"), CONTENT);
        AssetResolver resolver = new AssetResolver(List.of(dir.resolve("nowhere"), assets), dir.resolve("cache"), false);
        assertEquals(assets.resolve("model.bin"), resolver.resolve(spec(null), null));
    }

    @Test
    void should_never_use_a_corrupted_cached_file(@TempDir Path dir) throws Exception {
        Path cache = Files.createDirectories(dir.resolve("cache"));
        byte[] corrupted = CONTENT.clone();
        corrupted[0] ^= 1;
        Files.write(cache.resolve("model.bin"), corrupted);
        AssetResolver resolver = new AssetResolver(List.of(), cache, false);
        assertTrue(resolver.locate(spec("https://example.invalid/model.bin")).isEmpty(), "a cached file with the wrong SHA-256 is not used");
        assertFalse(Files.exists(cache.resolve("model.bin")), "the corrupted cached file is deleted");
    }

    @Test
    void should_skip_a_wrong_copy_in_an_asset_folder(@TempDir Path dir) throws Exception {
        Path assets = Files.createDirectories(dir.resolve("assets"));
        Files.writeString(assets.resolve("model.bin"), "same length, wrong data");
        AssetResolver resolver = new AssetResolver(List.of(assets), dir.resolve("cache"), false);
        assertTrue(resolver.locate(spec(null)).isEmpty());
        assertTrue(Files.exists(assets.resolve("model.bin")), "files in asset folders are the user's: never deleted");
    }

    @Test
    void should_name_the_file_its_url_and_the_fix_when_offline(@TempDir Path dir) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + closedPort + "/models/model.bin";
        AssetResolver resolver = new AssetResolver(List.of(dir.resolve("assets")), dir.resolve("cache"), true);
        AssetUnavailableException e = assertThrows(AssetUnavailableException.class, () -> resolver.resolve(spec(url), null));
        assertTrue(e.getMessage().contains("model.bin"), e.getMessage());
        assertTrue(e.getMessage().contains(url), e.getMessage());
        assertTrue(e.getMessage().contains("IMGSCALE_ASSETS"), e.getMessage());
        assertTrue(e.getMessage().contains("no connection"), e.getMessage());

        AssetResolver offline = new AssetResolver(List.of(), dir.resolve("cache"), false);
        AssetUnavailableException off = assertThrows(AssetUnavailableException.class, () -> offline.resolve(spec(url), null));
        assertTrue(off.getMessage().contains(url) && off.getMessage().contains("IMGSCALE_OFFLINE"), off.getMessage());
    }

    @Test
    void should_download_check_and_cache_a_file_then_serve_it_from_the_cache(@TempDir Path dir) throws Exception {
        AtomicInteger requests = new AtomicInteger();
        HttpServer server = serve(CONTENT, requests);
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/model.bin";
            AssetResolver resolver = new AssetResolver(List.of(), dir.resolve("cache"), true);
            Path got = resolver.resolve(spec(url), null);
            assertEquals(dir.resolve("cache/model.bin"), got);
            assertEquals(new String(CONTENT, StandardCharsets.UTF_8), Files.readString(got));
            resolver.resolve(spec(url), null);
            assertEquals(1, requests.get(), "the second resolve is served from the cache");
            try (var files = Files.list(dir.resolve("cache"))) {
                assertEquals(1, files.count(), "no partial download is left behind");
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    void should_reject_a_download_whose_sha256_is_wrong(@TempDir Path dir) throws Exception {
        byte[] tampered = CONTENT.clone();
        tampered[3] ^= 0x20;
        HttpServer server = serve(tampered, new AtomicInteger());
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/model.bin";
            AssetResolver resolver = new AssetResolver(List.of(), dir.resolve("cache"), true);
            AssetUnavailableException e = assertThrows(AssetUnavailableException.class, () -> resolver.resolve(spec(url), null));
            assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
            try (var files = Files.list(dir.resolve("cache"))) {
                assertEquals(0, files.count(), "nothing is left in the cache");
            }
        } finally {
            server.stop(0);
        }
    }

    private static HttpServer serve(byte[] body, AtomicInteger requests) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/model.bin", exchange -> {
            requests.incrementAndGet();
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }
}
