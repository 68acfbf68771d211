package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.port.WorkerBoard;
import dev.imgscale.daemon.shard.Shard;
import dev.imgscale.daemon.shard.ShardMember;
import dev.imgscale.daemon.shard.ShardWriter;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.HashedImageNames;
import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.WorkRequest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Uploading local files as a job in tar shards ({@code shards/<job>/00000.tar}...): each request
 * (version 2) names its shard and byte range, and is sent only once its shard is stored. The
 * inputs are read twice and never held: a first pass keeps a hash of each name (for the collision
 * rule, {@link HashedImageNames}) and counts them; the second assigns names, packs shards of at most
 * {@code maxMembers} files or about {@code maxBytes} bytes, several at once, and sends each shard's
 * requests as it is stored. Memory: the shards being written (one part buffer and their member
 * list each), one page of names, and the hashes. The job record goes open manifest, shards and
 * requests, name pages, sealed manifest ({@link JobRecordWriter}).
 *
 * <p>A file that cannot be read is reported and left out; its shard holds the others. A shard
 * that cannot be stored after retries is reported for each of its files, and none of its
 * requests is sent.
 */
final class ShardUpload {
    /** Shards written at once: each holds up to one multipart part in memory. */
    static final int MAX_WRITERS = 4;
    /** Files above this are streamed into the shard, not read whole first. */
    static final long STREAMED = 16L * 1024 * 1024;

    private final ObjectStore input;
    private final ObjectStore output;
    private final WorkQueue requests;
    private final WorkerBoard board;
    private final String stackName;
    private final Clock clock;
    private final int maxMembers;
    private final long maxBytes;

    /** An upload into the stack; opening its queue fails early, before anything is stored, when the stack is missing. */
    ShardUpload(StackContext stack, Clock clock, int maxMembers, long maxBytes) {
        this(stack.input(), stack.output(), stack.requests(), new ObjectStoreWorkerBoard(stack.output()),
                stack.config().names().stack(), clock, maxMembers, maxBytes);
    }

    /** An upload over these ports (tests give the in-memory twins). */
    ShardUpload(ObjectStore input, ObjectStore output, WorkQueue requests, WorkerBoard board, String stackName, Clock clock,
                int maxMembers, long maxBytes) {
        this.input = input;
        this.output = output;
        this.requests = requests;
        this.board = board;
        this.stackName = stackName;
        this.clock = clock;
        this.maxMembers = maxMembers;
        this.maxBytes = maxBytes;
    }

    /** The files of one shard, as planned; {@code names[i]} is {@code items[i]}'s name in the job. */
    private record Plan(int index, List<UploadItem> items, List<String> names) {
    }

    UploadReport upload(Iterable<UploadItem> inputs, int concurrency, UploadListener listener) {
        long start = clock.millis();
        HashedImageNames names = new HashedImageNames();
        int files = 0;
        long totalBytes = 0;
        for (UploadItem item : inputs) {
            names.claim(item.name());
            files++;
            totalBytes += item.size();
        }
        if (files == 0) {
            throw new ImgscaleException("No images to upload: none of the files given is an image; nothing was sent.");
        }
        WorkerReleases.requireReaders(board, stackName, WorkRequest.VERSION, clock);
        String job = JobId.next(clock.instant());
        JobRecordWriter record = new JobRecordWriter(output, job, clock.millis(), JobUploads.source());
        listener.started(files, totalBytes);
        record.open();
        List<UploadReport.Failure> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicLong bytes = new AtomicLong();
        int writers = Math.max(1, Math.min(concurrency, MAX_WRITERS));
        ExecutorService pool = Executors.newFixedThreadPool(writers, DaemonThreads.named("imgscale-shard"));
        // at most two shards waiting per writer: the plans hold their members' names, not their bytes
        Semaphore room = new Semaphore(writers * 2);
        List<Future<?>> futures = new ArrayList<>();
        try {
            int index = 0;
            List<UploadItem> items = new ArrayList<>();
            List<String> given = new ArrayList<>();
            long planned = 0;
            for (UploadItem item : inputs) {
                // a file that would take the shard past its size starts the next one, so a file over it is alone
                if (!items.isEmpty() && (items.size() >= maxMembers || planned + item.size() > maxBytes
                        || item.size() > STREAMED)) {
                    futures.add(submit(pool, room, new Plan(index++, items, given), job, record, failures, bytes, listener));
                    items = new ArrayList<>();
                    given = new ArrayList<>();
                    planned = 0;
                }
                items.add(item);
                given.add(names.unique(item.name()));
                planned += item.size() + 1024; // the tar header and padding, about
            }
            if (!items.isEmpty()) {
                futures.add(submit(pool, room, new Plan(index, items, given), job, record, failures, bytes, listener));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImgscaleException("Upload interrupted; job " + job + " is incomplete: `imgscale reset " + job + "` removes it.", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ImgscaleException ie) {
                throw ie;
            }
            throw new IllegalStateException("upload task failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
        if (record.total() == 0) {
            // nothing could be stored: no request was sent, so the job goes, as if never begun
            record.discard();
            return new UploadReport(job, 0, failures, 0, clock.millis() - start);
        }
        listener.enqueueing(record.total());
        record.seal();
        return new UploadReport(job, record.total(), failures, bytes.get(), clock.millis() - start);
    }

    private Future<?> submit(ExecutorService pool, Semaphore room, Plan plan, String job, JobRecordWriter record,
                             List<UploadReport.Failure> failures, AtomicLong bytes, UploadListener listener)
            throws InterruptedException {
        room.acquire();
        return pool.submit(() -> {
            try {
                store(plan, job, record, failures, bytes, listener);
            } finally {
                room.release();
            }
        });
    }

    /** Writes one shard (retrying it whole), then sends its requests and records its names. */
    private void store(Plan plan, String job, JobRecordWriter record, List<UploadReport.Failure> failures, AtomicLong bytes,
                       UploadListener listener) {
        List<UploadItem> packed = new ArrayList<>();
        List<ShardMember> members = new ArrayList<>();
        List<UploadReport.Failure> unreadable = new ArrayList<>();
        String error = Jobs.retry("store shard " + plan.index() + " of job " + job, () -> {
            packed.clear();
            members.clear();
            unreadable.clear();
            write(job, plan, packed, members, unreadable);
        });
        for (UploadReport.Failure f : unreadable) {
            failures.add(f);
        }
        for (int i = 0; i < plan.items().size(); i++) {
            UploadItem item = plan.items().get(i);
            UploadReport.Failure unread = unreadable.stream().filter(f -> f.file().equals(item.source())).findFirst().orElse(null);
            if (unread != null) {
                listener.failed(item, unread.reason());
            } else if (error != null) {
                failures.add(new UploadReport.Failure(item.source(), error));
                listener.failed(item, error);
            }
        }
        if (error != null || members.isEmpty()) {
            return;
        }
        long now = clock.millis();
        List<String> bodies = new ArrayList<>(members.size());
        List<String> sent = new ArrayList<>(members.size());
        for (int i = 0; i < members.size(); i++) {
            ShardMember m = members.get(i);
            bodies.add(new WorkRequest(job, m.name(), now, packed.get(i).source(),
                    new ImageLocation.InShard(m.shardKey(), m.offset(), m.length())).toJson());
            sent.add(m.name());
        }
        String sendError = Jobs.retry("send the requests of shard " + plan.index(), () -> requests.send(bodies));
        if (sendError != null) {
            // some of the ten-message batches may be out: those images get results, but the job will not count them
            for (UploadItem item : packed) {
                failures.add(new UploadReport.Failure(item.source(), "its request could not be sent: " + sendError));
                listener.failed(item, sendError);
            }
            return;
        }
        record.add(sent);
        for (UploadItem item : packed) {
            bytes.addAndGet(item.size());
            listener.uploaded(item);
        }
    }

    /** One attempt at the shard: files that cannot be read are left out (in {@code unreadable}), the rest packed. */
    private void write(String job, Plan plan, List<UploadItem> packed, List<ShardMember> members,
                       List<UploadReport.Failure> unreadable) {
        List<Shard> stored = new ArrayList<>(1);
        ShardWriter writer = new ShardWriter(input, Keys.shardPrefix(job), plan.index(), Integer.MAX_VALUE, Long.MAX_VALUE,
                clock.millis() / 1000, stored::add);
        try {
            for (int i = 0; i < plan.items().size(); i++) {
                UploadItem item = plan.items().get(i);
                if (item.bytes() == null && item.size() > STREAMED) {
                    // a large file is alone in its shard (see upload), so a read failing half-way spoils no neighbour
                    members.add(writer.add(plan.names().get(i), item.file()));
                    packed.add(item);
                    continue;
                }
                byte[] data;
                try {
                    // read whole before the tar header is written: a file that fails half-way cannot spoil the shard
                    data = item.bytes() != null ? item.bytes() : Files.readAllBytes(item.file());
                } catch (IOException | RuntimeException e) {
                    unreadable.add(new UploadReport.Failure(item.source(), "cannot read it: " + e.getMessage()));
                    continue;
                }
                members.add(writer.add(plan.names().get(i), data.length, new ByteArrayInputStream(data)));
                packed.add(item);
            }
            writer.close();
        } catch (IOException e) {
            writer.abort();
            throw new java.io.UncheckedIOException(e);
        } catch (RuntimeException e) {
            writer.abort();
            throw e;
        }
    }
}
