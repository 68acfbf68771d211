package dev.imgscale.classifier.assets;

import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.classifier.catalog.AssetSpec;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the data files imgscale needs (models, labels, sample images) by file name and SHA-256:
 * first in each folder of {@code IMGSCALE_ASSETS} (a path list), then in the cache
 * ({@code $XDG_CACHE_HOME/imgscale}, default {@code ~/.cache/imgscale}), then by downloading the
 * file from its public URL into the cache. A file whose size or SHA-256 is wrong is never used: a
 * wrong copy in an asset folder is skipped, a wrong copy in the cache is deleted, and a download
 * is checked before it is renamed into place atomically.
 */
@ThreadSafe
public final class AssetResolver {
    private static final Logger LOG = LoggerFactory.getLogger(AssetResolver.class);

    private final List<Path> searchPath;
    private final Path cacheDir;
    private final boolean downloads;
    private final HttpClient http;
    /** Files already hashed in this process, keyed by path, with the size and mtime they had. */
    private final Map<Path, String> verified = new ConcurrentHashMap<>();

    public AssetResolver(List<Path> searchPath, Path cacheDir, boolean downloads) {
        this.searchPath = List.copyOf(searchPath);
        this.cacheDir = cacheDir;
        this.downloads = downloads;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(15))
                .build();
    }

    /**
     * The resolver the environment describes: {@code IMGSCALE_ASSETS} (folders separated by the
     * platform's path separator), {@code IMGSCALE_CACHE} or {@code XDG_CACHE_HOME}, and
     * {@code IMGSCALE_OFFLINE=1} to forbid downloads.
     */
    public static AssetResolver fromEnvironment(Map<String, String> env) {
        List<Path> folders = new ArrayList<>();
        String assets = env.get("IMGSCALE_ASSETS");
        if (assets != null) {
            for (String part : assets.split(File.pathSeparator)) {
                if (!part.isBlank()) {
                    folders.add(Path.of(part.trim()));
                }
            }
        }
        return new AssetResolver(folders, cacheDir(env), !"1".equals(env.get("IMGSCALE_OFFLINE")));
    }

    /** The cache folder the environment names. */
    public static Path cacheDir(Map<String, String> env) {
        if (env.get("IMGSCALE_CACHE") != null) {
            return Path.of(env.get("IMGSCALE_CACHE"));
        }
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("imgscale");
    }

    public List<Path> searchPath() {
        return searchPath;
    }

    public Path cacheDir() {
        return cacheDir;
    }

    /** Where a good copy of the asset is now, without downloading; empty when there is none. */
    public Optional<Path> locate(AssetSpec spec) {
        for (Path folder : searchPath) {
            Path candidate = folder.resolve(spec.file());
            if (Files.isRegularFile(candidate)) {
                String problem = check(candidate, spec);
                if (problem == null) {
                    return Optional.of(candidate);
                }
                LOG.warn("Ignoring {}: {}", candidate, problem);
            }
        }
        Path cached = cacheDir.resolve(spec.file());
        if (Files.isRegularFile(cached)) {
            String problem = check(cached, spec);
            if (problem == null) {
                return Optional.of(cached);
            }
            LOG.warn("Deleting the cached {}: {}", cached, problem);
            try {
                Files.deleteIfExists(cached);
            } catch (IOException e) {
                LOG.warn("Cannot delete {}: {}", cached, e.toString());
            }
        }
        return Optional.empty();
    }

    /** A good copy of the asset, downloaded into the cache if need be. */
    public Path resolve(AssetSpec spec, DownloadListener listener) {
        Optional<Path> found = locate(spec);
        if (found.isPresent()) {
            return found.get();
        }
        if (spec.url() == null) {
            throw new AssetUnavailableException(spec.file() + " is not in " + describeFolders()
                    + " and has no download URL; put it in one of the folders of IMGSCALE_ASSETS.");
        }
        if (!downloads) {
            throw new AssetUnavailableException(spec.file() + " is not in " + describeFolders()
                    + " and downloads are off (IMGSCALE_OFFLINE=1); download " + spec.url()
                    + " and put it in one of the folders of IMGSCALE_ASSETS or in " + cacheDir + ".");
        }
        return download(spec, listener == null ? DownloadListener.NONE : listener);
    }

    private String describeFolders() {
        List<String> names = new ArrayList<>();
        searchPath.forEach(p -> names.add(p.toString()));
        return (names.isEmpty() ? "IMGSCALE_ASSETS (unset)" : "IMGSCALE_ASSETS (" + String.join(File.pathSeparator, names) + ")")
                + " or the cache (" + cacheDir + ")";
    }

    /** Null when the file matches the spec, otherwise what is wrong with it. */
    private String check(Path file, AssetSpec spec) {
        try {
            long size = Files.size(file);
            if (spec.size() >= 0 && size != spec.size()) {
                return "it has " + size + " bytes, not the " + spec.size() + " expected";
            }
            if (!spec.pinned()) {
                return null;
            }
            String key = size + ":" + Files.getLastModifiedTime(file).toMillis();
            if (key.equals(verified.get(file.toAbsolutePath()))) {
                return null;
            }
            String actual = sha256(file);
            if (!actual.equals(spec.sha256())) {
                return "its SHA-256 is " + actual + ", not " + spec.sha256();
            }
            verified.put(file.toAbsolutePath(), key);
            return null;
        } catch (IOException e) {
            return "it cannot be read (" + e.getMessage() + ")";
        }
    }

    private Path download(AssetSpec spec, DownloadListener listener) {
        Path target = cacheDir.resolve(spec.file());
        Path part = null;
        try {
            Files.createDirectories(cacheDir);
            part = Files.createTempFile(cacheDir, "." + spec.file() + ".", ".part");
            HttpRequest request = HttpRequest.newBuilder(URI.create(spec.url()))
                    .timeout(Duration.ofMinutes(2))
                    .header("User-Agent", "imgscale")
                    .GET().build();
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                response.body().close();
                throw new IOException("the server answered HTTP " + response.statusCode());
            }
            long total = response.headers().firstValueAsLong("content-length").orElse(spec.size());
            listener.started(spec.file(), spec.url(), total);
            MessageDigest digest = newDigest();
            long count = 0;
            try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(part)) {
                byte[] buffer = new byte[1 << 16];
                for (int n; (n = in.read(buffer)) > 0; ) {
                    out.write(buffer, 0, n);
                    digest.update(buffer, 0, n);
                    count += n;
                    if (spec.size() >= 0 && count > spec.size()) {
                        throw new AssetUnavailableException("Downloaded " + spec.file() + " from " + spec.url()
                                + " but it is larger than the " + spec.size() + " bytes expected; not using it.");
                    }
                    listener.progressed(spec.file(), count, total);
                }
            }
            String actual = HexFormat.of().formatHex(digest.digest());
            if (spec.size() >= 0 && count != spec.size()) {
                throw new AssetUnavailableException("Downloaded " + spec.file() + " from " + spec.url() + " but got "
                        + count + " bytes, not " + spec.size() + "; not using it.");
            }
            if (spec.pinned() && !actual.equals(spec.sha256())) {
                throw new AssetUnavailableException("Downloaded " + spec.file() + " from " + spec.url()
                        + " but its SHA-256 is " + actual + ", not " + spec.sha256() + "; not using it.");
            }
            try {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
            }
            part = null;
            listener.finished(spec.file());
            LOG.info("Downloaded {} ({} bytes) into {}", spec.file(), count, cacheDir);
            return target;
        } catch (IOException e) {
            throw new AssetUnavailableException(spec.file() + " is not in " + describeFolders() + ", and downloading it from "
                    + spec.url() + " failed (" + describe(e) + "); download it yourself and put it in one of the folders"
                    + " of IMGSCALE_ASSETS or in " + cacheDir + ".", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssetUnavailableException("Interrupted while downloading " + spec.file() + ".", e);
        } finally {
            if (part != null) {
                try {
                    Files.deleteIfExists(part);
                } catch (IOException ignored) {
                    // a leftover .part file is harmless: it is never used as an asset
                }
            }
        }
    }

    private static String describe(IOException e) {
        String message = e.getMessage();
        String kind = e.getClass().getSimpleName();
        if (e instanceof java.net.ConnectException || e instanceof java.net.UnknownHostException
                || e instanceof java.net.http.HttpConnectTimeoutException) {
            return "no connection: " + (message == null ? kind : message);
        }
        return message == null ? kind : message;
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest digest = newDigest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
