package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A version-2 job record written as the upload goes, in the order that keeps the job consistent:
 * {@link #open} (the manifest without a total, before the first request: a worker drops requests of
 * a job with no manifest), then {@link #add} the names whose requests were sent (written as pages of
 * {@link #PAGE} names, JSON Lines, as they fill), then {@link #seal} (the last page, then the
 * manifest with the total). Memory is one page of names, whatever the job's size.
 *
 * <p>Until every reader reads name pages, a job of at most one page also lists its names in the
 * sealed manifest ({@code images}): readers that know only {@code images} (this branch's, and the
 * previous release's) then still follow it. A larger job's names are in its pages only.
 */
@ThreadSafe
final class JobRecordWriter {
    static final int PAGE = 10_000;

    private final ObjectStore output;
    private final JobManifest open;
    private final int pageSize;
    private List<String> page = new ArrayList<>();
    /** The first page's names, kept for the sealed manifest while the job fits in one page. */
    private List<String> firstPage;
    private int pages;
    private int total;

    JobRecordWriter(ObjectStore output, String job, long createdAt, String source) {
        this(output, job, createdAt, source, PAGE);
    }

    JobRecordWriter(ObjectStore output, String job, long createdAt, String source, int pageSize) {
        this.output = output;
        this.open = JobManifest.open(job, createdAt, source);
        this.pageSize = pageSize;
    }

    String job() {
        return open.job();
    }

    /** Writes the open manifest; requests may be sent once it returns. */
    void open() {
        String error = Jobs.retry("write the manifest", () -> output.put(Keys.manifest(open.job()), Json.bytes(open), "application/json"));
        if (error != null) {
            throw new ImgscaleException("Could not write the manifest of job " + open.job() + " (" + error + "); nothing was sent.");
        }
    }

    /** Names whose requests are sent; a full page is written before this returns. */
    synchronized void add(List<String> names) {
        for (String name : names) {
            page.add(name);
            total++;
            if (page.size() == pageSize) {
                writePage();
            }
        }
    }

    synchronized int total() {
        return total;
    }

    /** Writes the last page and the sealed manifest; the job is complete once its results number {@code total}. */
    synchronized JobManifest seal() {
        if (!page.isEmpty()) {
            writePage();
        }
        JobManifest sealed = open.seal(total, pages);
        if (firstPage != null && pages == 1) {
            sealed = new JobManifest(sealed.v(), sealed.job(), sealed.createdAt(), sealed.source(), firstPage, sealed.total(),
                    sealed.namePages());
        }
        put(Keys.manifest(open.job()), Json.bytes(sealed), "application/json", "seal the manifest of job " + open.job());
        return sealed;
    }

    /** Removes the open manifest of a job that got no request (every file failed). */
    synchronized void discard() {
        Jobs.retry("remove the manifest of job " + open.job(), () -> output.delete(java.util.List.of(Keys.manifest(open.job()))));
    }

    private void writePage() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(page.size() * 64);
        for (String name : page) {
            out.writeBytes(Json.write(name).getBytes(StandardCharsets.UTF_8));
            out.write('\n');
        }
        put(Keys.namePage(open.job(), pages), out.toByteArray(), "application/x-ndjson", "write a page of names of job " + open.job());
        firstPage = pages == 0 ? List.copyOf(page) : null;
        pages++;
        page = new ArrayList<>();
    }

    private void put(String key, byte[] bytes, String contentType, String what) {
        String error = Jobs.retry(what, () -> output.put(key, bytes, contentType));
        if (error != null) {
            throw new ImgscaleException("Could not " + what + " (" + error + "); the requests sent so far will be processed, "
                    + "but the job is not sealed: `imgscale reset " + open.job() + "` removes it.");
        }
    }
}
