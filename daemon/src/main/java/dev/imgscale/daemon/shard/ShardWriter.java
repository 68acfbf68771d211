package dev.imgscale.daemon.shard;

import dev.imgscale.daemon.port.ObjectOutput;
import dev.imgscale.daemon.port.ObjectStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Packs files into tar shards ({@code <prefix>00000.tar}, {@code 00001.tar}...) of at most
 * {@code maxMembers} files or about {@code maxBytes} bytes each, streamed to the store: memory is
 * one upload part, whatever the shard's size. Each shard is handed to {@code onStored} once it is
 * stored, with every member's byte range, so that its requests are sent only for bytes that are
 * durably there. Not thread-safe: one writer per uploading thread.
 */
public final class ShardWriter implements AutoCloseable {
    public static final int DEFAULT_MAX_MEMBERS = 1000;
    public static final long DEFAULT_MAX_BYTES = 64L * 1024 * 1024;
    public static final String CONTENT_TYPE = "application/x-tar";

    private final ObjectStore store;
    private final String prefix;
    private final int maxMembers;
    private final long maxBytes;
    private final long mtime;
    private final Consumer<Shard> onStored;
    private int next;
    private ObjectOutput output;
    private TarWriter tar;
    private String key;
    private List<ShardMember> members = new ArrayList<>();

    public ShardWriter(ObjectStore store, String prefix, int maxMembers, long maxBytes, long mtime, Consumer<Shard> onStored) {
        this(store, prefix, 0, maxMembers, maxBytes, mtime, onStored);
    }

    /**
     * A writer whose first shard is number {@code first}: several writers (one per uploading
     * thread) share a prefix by taking numbers that do not meet.
     */
    public ShardWriter(ObjectStore store, String prefix, int first, int maxMembers, long maxBytes, long mtime,
                       Consumer<Shard> onStored) {
        if (first < 0) {
            throw new IllegalArgumentException("a shard number is at least 0: " + first);
        }
        this.next = first;
        this.store = Objects.requireNonNull(store, "store");
        this.prefix = Objects.requireNonNull(prefix, "prefix");
        if (maxMembers < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("a shard holds at least one file: " + maxMembers + " files, " + maxBytes + " bytes");
        }
        this.maxMembers = maxMembers;
        this.maxBytes = maxBytes;
        this.mtime = mtime;
        this.onStored = Objects.requireNonNull(onStored, "onStored");
    }

    /** Adds a file under {@code name}; a shard that is full is stored first. */
    public ShardMember add(String name, Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return add(name, Files.size(file), in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot pack " + file + ": " + e.getMessage(), e);
        }
    }

    /** Adds {@code size} bytes from {@code data} under {@code name}; a shard that is full is stored first. */
    public ShardMember add(String name, long size, InputStream data) throws IOException {
        // a file that would take the shard past its size starts the next one (a shard of one file may be larger)
        if (tar != null && (members.size() >= maxMembers || tar.position() + TarWriter.overhead(name, size) + size > maxBytes)) {
            flush();
        }
        if (tar == null) {
            key = prefix + String.format("%05d", next++) + ".tar";
            output = store.openWrite(key, CONTENT_TYPE);
            tar = new TarWriter(output, mtime);
        }
        try {
            long offset = tar.add(name, size, data);
            ShardMember m = new ShardMember(key, name, offset, size);
            members.add(m);
            return m;
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
    }

    /** Stores the shard being written, if any (the next file starts a new one). */
    public void flush() throws IOException {
        if (tar == null) {
            return;
        }
        try {
            tar.finish();
            output.close();
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
        Shard shard = new Shard(key, tar.position(), members);
        tar = null;
        output = null;
        members = new ArrayList<>();
        onStored.accept(shard);
    }

    /** Gives up the shard being written: nothing of it is stored, and no request names it. */
    public void abort() {
        if (output != null) {
            output.abort();
        }
        tar = null;
        output = null;
        members = new ArrayList<>();
    }

    /** Stores the last shard. */
    @Override
    public void close() throws IOException {
        flush();
    }
}
