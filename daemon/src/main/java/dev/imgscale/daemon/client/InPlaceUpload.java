package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.source.InPlaceSources;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.wire.ObjectRef;
import dev.imgscale.daemon.wire.S3Url;
import dev.imgscale.daemon.wire.WorkRequest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * A job of images that are already in S3 ({@code upload s3://BUCKET/PREFIX/} or {@code upload
 * --manifest}): nothing is copied; each request names the object where it is (version 2), and the
 * worker reads it from its bucket. The listing or manifest is read as a stream, a page or a line at
 * a time; what is kept is each image's key and name, because the job's manifest (version 1, which
 * the readers count results against) names every image and must be written before any request.
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
        try (Stream<ObjectRef> refs = sources().prefix(url)) {
            return enqueue(refs.iterator(), ref -> ref.key().substring(cut), url.toString(), listener);
        }
    }

    /** The images a manifest (a local file or an {@code s3://} object) names, named by their keys. */
    public UploadReport manifest(String manifest, String defaultBucket, UploadListener listener) {
        try (Stream<ObjectRef> refs = sources().manifest(manifest, defaultBucket)) {
            return enqueue(refs.iterator(), ref -> {
                checkSource(ref.bucket());
                return ref.key();
            }, manifest, listener);
        }
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

    private UploadReport enqueue(Iterator<ObjectRef> refs, Function<ObjectRef, String> relative, String given,
                                 UploadListener listener) {
        long start = clock.millis();
        stack.requests(); // opens the queue: fails early, before the listing, if the stack is missing
        List<ObjectRef> found = new ArrayList<>();
        List<String> inputs = new ArrayList<>();
        while (refs.hasNext()) {
            ObjectRef ref = refs.next();
            found.add(ref);
            inputs.add(relative.apply(ref));
        }
        if (found.isEmpty()) {
            throw new ImgscaleException("No images in " + given + " (keys with an image extension); nothing was queued.");
        }
        List<String> names = ImageNames.assign(inputs);
        String job = client.newJob();
        List<String> sorted = new ArrayList<>(names);
        sorted.sort(null);
        client.writeManifest(job, clock.millis(), sorted);
        listener.enqueueing(names.size());
        long now = clock.millis();
        List<String> bodies = new ArrayList<>(SEND_CHUNK);
        for (int i = 0; i < found.size(); i++) {
            ObjectRef ref = found.get(i);
            bodies.add(new WorkRequest(job, names.get(i), now, ref.toString(), new ImageLocation.InPlace(ref)).toJson());
            if (bodies.size() == SEND_CHUNK) {
                stack.requests().send(bodies);
                bodies.clear();
            }
        }
        if (!bodies.isEmpty()) {
            stack.requests().send(bodies);
        }
        return new UploadReport(job, sorted, List.of(), 0, clock.millis() - start);
    }
}
