package dev.imgscale.daemon.source;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.ImageExtensions;
import dev.imgscale.daemon.wire.ObjectRef;
import dev.imgscale.daemon.wire.S3Url;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Images where they already are, as streams of {@link ObjectRef}: the images under an
 * {@code s3://BUCKET/PREFIX} (by extension, as folders are expanded), or those a manifest names (a
 * local file or an {@code s3://} object). Nothing is copied and no list of all names is built:
 * a listing is read page by page, a manifest line by line, as the stream is consumed. Close the
 * stream when done.
 */
public final class InPlaceSources {
    private final Function<String, ObjectStore> buckets;

    /** @param buckets the store of a bucket, by its name (any bucket of the account, or of the local stack) */
    public InPlaceSources(Function<String, ObjectStore> buckets) {
        this.buckets = Objects.requireNonNull(buckets, "buckets");
    }

    /** The images under a prefix: keys with an image extension, in S3's key order. */
    public Stream<ObjectRef> prefix(S3Url url) {
        ObjectStore store = buckets.apply(url.bucket());
        return store.keys(url.key()).filter(ImageExtensions::matches).map(k -> new ObjectRef(url.bucket(), k));
    }

    /**
     * The images a manifest names: {@code manifest} is a local file or an {@code s3://} URL; bare
     * keys are in {@code defaultBucket}, or else in the manifest's own bucket.
     *
     * @throws ImgscaleException when the manifest does not exist (reading errors come with their line)
     */
    public Stream<ObjectRef> manifest(String manifest, String defaultBucket) {
        InputStream in;
        String bucket = defaultBucket;
        if (S3Url.isS3Url(manifest)) {
            S3Url url;
            try {
                url = S3Url.parse(manifest);
            } catch (IllegalArgumentException e) {
                throw new ImgscaleException(e.getMessage(), e);
            }
            in = buckets.apply(url.bucket()).openRead(url.key())
                    .orElseThrow(() -> new ImgscaleException("There is no manifest at " + manifest + "."));
            if (bucket == null) {
                bucket = url.bucket();
            }
        } else {
            try {
                in = Files.newInputStream(Path.of(manifest));
            } catch (NoSuchFileException e) {
                throw new ImgscaleException("No such manifest file: " + manifest + ".", e);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot open the manifest " + manifest + ": " + e.getMessage(), e);
            }
        }
        ManifestReader reader = new ManifestReader(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)), manifest, bucket);
        return stream(reader).onClose(() -> {
            try {
                reader.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static <T> Stream<T> stream(Iterator<T> it) {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED | Spliterator.NONNULL), false);
    }
}
