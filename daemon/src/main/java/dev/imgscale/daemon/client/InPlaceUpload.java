package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.source.InPlaceSources;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.HashedImageNames;
import dev.imgscale.daemon.wire.ObjectRef;
import dev.imgscale.daemon.wire.S3Url;
import dev.imgscale.daemon.wire.WorkRequest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A job of images that are already in S3 ({@code upload s3://BUCKET/PREFIX/} or {@code upload
 * --manifest}): nothing is copied; each request names the object where it is (version 2), and the
 * worker reads it from its bucket. The listing or manifest is read as a stream, a page or a line at
 * a time, twice (see {@link #enqueue}); no image's key or name is kept beyond a page of names.
 */
public final class InPlaceUpload {
    /** Requests per send: the queue sends them ten to a batch. */
    private static final int SEND_CHUNK = 100;

    private final StackContext stack;
    private final JobClient client;
    private final Clock clock;

    public InPlaceUpload(StackContext stack, Clock clock) {
        this.stack = stack;
        this.client = new JobClient(stack, clock);
        this.clock = clock;
    }

    /** The sources of this stack's S3: any bucket its client reaches. */
    public InPlaceSources sources() {
        ObjectStore input = stack.input();
        return new InPlaceSources(bucket -> bucket.equals(input.name()) ? input : input.inBucket(bucket));
    }

    /** The images under {@code url}, named by their keys below the prefix. */
    public UploadReport prefix(S3Url url, UploadListener listener) {
        checkSource(url.bucket());
        int cut = url.key().lastIndexOf('/') + 1;
        return enqueue(() -> sources().prefix(url), ref -> ref.key().substring(cut), url.toString(), listener);
    }

    /** The images a manifest (a local file or an {@code s3://} object) names, named by their keys. */
    public UploadReport manifest(String manifest, String defaultBucket, UploadListener listener) {
        return enqueue(() -> sources().manifest(manifest, defaultBucket), ref -> {
            checkSource(ref.bucket());
            return ref.key();
        }, manifest, listener);
    }

    /**
     * Whether the stack's workers may read the bucket: on AWS only the input bucket and the stack's
     * {@code source-buckets} (what their IAM role grants); on the local stack any bucket.
     *
     * @throws ImgscaleException saying which configuration key to change
     */
    public void checkSource(String bucket) {
        if (!stack.config().mayRead(bucket)) {
            throw new ImgscaleException("The workers of stack " + stack.config().names().stack() + " may not read bucket " + bucket
                    + ": add it to source-buckets in the stack configuration (`imgscale init --source-bucket " + bucket
                    + "`) and to the worker role's policy.");
        }
    }

    /**
     * Two passes over the listing or manifest, holding neither: the first keeps a hash of each name
     * (the collision rule, {@link HashedImageNames}); the second names each image and sends its
     * request, and the job record gets the names page by page ({@link JobRecordWriter}). The second
     * listing costs one more LIST per 1,000 keys ($0.005 per million images); a manifest is read twice.
     */
    private UploadReport enqueue(Supplier<Stream<ObjectRef>> refs, Function<ObjectRef, String> relative, String given,
                                 UploadListener listener) {
        long start = clock.millis();
        stack.requests(); // opens the queue: fails early, before the listing, if the stack is missing
        HashedImageNames names = new HashedImageNames();
        int found = 0;
        try (Stream<ObjectRef> first = refs.get()) {
            for (Iterator<ObjectRef> it = first.iterator(); it.hasNext(); ) {
                names.claim(relative.apply(it.next()));
                found++;
            }
        }
        if (found == 0) {
            throw new ImgscaleException("No images in " + given + " (keys with an image extension); nothing was queued.");
        }
        WorkerReleases.requireReaders(new ObjectStoreWorkerBoard(stack.output()), stack.config().names().stack(),
                WorkRequest.VERSION, clock);
        JobRecordWriter record = new JobRecordWriter(stack.output(), client.newJob(), clock.millis(), JobUploads.source());
        record.open();
        listener.enqueueing(found);
        long now = clock.millis();
        List<String> bodies = new ArrayList<>(SEND_CHUNK);
        List<String> sent = new ArrayList<>(SEND_CHUNK);
        try (Stream<ObjectRef> second = refs.get()) {
            for (Iterator<ObjectRef> it = second.iterator(); it.hasNext(); ) {
                ObjectRef ref = it.next();
                String name = names.unique(relative.apply(ref));
                bodies.add(new WorkRequest(record.job(), name, now, ref.toString(), new ImageLocation.InPlace(ref)).toJson());
                sent.add(name);
                if (bodies.size() == SEND_CHUNK) {
                    send(record, bodies, sent);
                }
            }
        }
        if (!bodies.isEmpty()) {
            send(record, bodies, sent);
        }
        record.seal();
        return new UploadReport(record.job(), record.total(), List.of(), 0, clock.millis() - start);
    }

    /** Sends the requests, then records their names (a page is written as it fills). */
    private void send(JobRecordWriter record, List<String> bodies, List<String> sent) {
        stack.requests().send(bodies);
        record.add(sent);
        bodies.clear();
        sent.clear();
    }
}
