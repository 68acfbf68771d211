package dev.imgscale.daemon.testing;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Function;

/**
 * An {@link ObjectStore} in memory with the semantics of {@code S3ObjectStore}: keys in order,
 * a key ending in '/' refused ({@link IllegalArgumentException}), an object over the caller's
 * limit refused unread ({@link ObjectTooLargeException}), missing keys ignored by delete, and, once
 * {@link #removeBucket()} is called, every operation failing with the one sentence that says how to
 * create the bucket. Bytes are copied in and out, as a real store would.
 *
 * <p>For tests: {@link #inject} makes an operation fail, and the counters say how many times each
 * operation ran.
 */
@ThreadSafe
public final class InMemoryObjectStore implements ObjectStore {
    /** The operations a fault can be injected into. */
    public enum Op {
        PUT, GET, EXISTS, LIST, DELETE
    }

    private final String name;
    /** This store and the others reached with {@link #inBucket}: one account's buckets. */
    private final Map<String, InMemoryObjectStore> account;
    private final ConcurrentSkipListMap<String, byte[]> objects = new ConcurrentSkipListMap<>();
    private final Map<Op, Function<String, RuntimeException>> faults = new EnumMap<>(Op.class);
    private final Map<Op, Long> calls = new EnumMap<>(Op.class);
    private volatile boolean removed;

    public InMemoryObjectStore(String name) {
        this(name, new java.util.concurrent.ConcurrentHashMap<>());
    }

    private InMemoryObjectStore(String name, Map<String, InMemoryObjectStore> account) {
        this.name = Objects.requireNonNull(name, "name");
        this.account = account;
        account.putIfAbsent(name, this);
    }

    /** Another bucket of the same account, as S3ObjectStore reaches it through the same client. */
    @Override
    public InMemoryObjectStore inBucket(String bucket) {
        synchronized (account) {
            InMemoryObjectStore store = account.get(bucket);
            return store != null ? store : new InMemoryObjectStore(bucket, account);
        }
    }

    @Override
    public Optional<byte[]> getRange(String key, long offset, long length, long maxBytes) {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("not a range: " + offset + "+" + length);
        }
        enter(Op.GET, key);
        byte[] b = objects.get(key);
        if (b == null) {
            return Optional.empty();
        }
        if (length > maxBytes) {
            throw new ObjectTooLargeException(key, length, maxBytes);
        }
        if (offset + length > b.length) {
            throw new dev.imgscale.daemon.port.ObjectRangeException("the range " + offset + "+" + length + " is past the end of " + key + " (" + b.length + " bytes)");
        }
        return Optional.of(java.util.Arrays.copyOfRange(b, (int) offset, (int) (offset + length)));
    }

    @Override
    public java.util.stream.Stream<String> keys(String prefix) {
        return list(prefix).stream();
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Makes the operation fail with the exception the function returns for its key (the prefix
     * for LIST, each key for DELETE), until it returns null or the fault is cleared with null.
     */
    public synchronized void inject(Op op, Function<String, RuntimeException> fault) {
        if (fault == null) {
            faults.remove(op);
        } else {
            faults.put(op, fault);
        }
    }

    /** From now on the bucket does not exist: every operation fails as S3ObjectStore's do. */
    public void removeBucket() {
        removed = true;
    }

    /** How many times the operation was called. */
    public synchronized long calls(Op op) {
        return calls.getOrDefault(op, 0L);
    }

    @Override
    public void put(String key, byte[] data, String contentType) {
        checkKey(key);
        enter(Op.PUT, key);
        objects.put(key, data.clone());
    }

    @Override
    public void put(String key, Path file, String contentType) {
        checkKey(key);
        enter(Op.PUT, key);
        try {
            objects.put(key, Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * A stream stored as one object at close (a PUT fault injected for the key fails the close, as
     * a failed part or completion would); nothing is visible before, and abort leaves nothing.
     */
    @Override
    public dev.imgscale.daemon.port.ObjectOutput openWrite(String key, String contentType) {
        checkKey(key);
        return new dev.imgscale.daemon.port.ObjectOutput() {
            private final java.io.ByteArrayOutputStream buffer = new java.io.ByteArrayOutputStream();
            private boolean done;

            @Override
            public void write(int b) {
                buffer.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                buffer.write(b, off, len);
            }

            @Override
            public long written() {
                return buffer.size();
            }

            @Override
            public void abort() {
                done = true;
            }

            @Override
            public void close() {
                if (done) {
                    return;
                }
                done = true;
                enter(Op.PUT, key);
                objects.put(key, buffer.toByteArray());
            }
        };
    }

    @Override
    public Optional<byte[]> get(String key) {
        enter(Op.GET, key);
        byte[] b = objects.get(key);
        return b == null ? Optional.empty() : Optional.of(b.clone());
    }

    @Override
    public Optional<byte[]> get(String key, long maxBytes) {
        enter(Op.GET, key);
        byte[] b = objects.get(key);
        if (b == null) {
            return Optional.empty();
        }
        if (b.length > maxBytes) {
            throw new ObjectTooLargeException(key, b.length, maxBytes);
        }
        return Optional.of(b.clone());
    }

    @Override
    public boolean exists(String key) {
        enter(Op.EXISTS, key);
        return objects.containsKey(key);
    }

    @Override
    public List<String> list(String prefix) {
        enter(Op.LIST, prefix);
        List<String> keys = new ArrayList<>();
        for (String key : objects.tailMap(prefix, true).keySet()) {
            if (!key.startsWith(prefix)) {
                break;
            }
            keys.add(key);
        }
        return keys;
    }

    @Override
    public void delete(Collection<String> keys) {
        for (String key : keys) {
            enter(Op.DELETE, key);
        }
        for (String key : keys) {
            objects.remove(key);
        }
    }

    /** Every key, in order. */
    public List<String> keys() {
        return new ArrayList<>(objects.keySet());
    }

    @Override
    public String toString() {
        return "InMemoryObjectStore[" + name + "]";
    }

    private void enter(Op op, String key) {
        Function<String, RuntimeException> fault;
        synchronized (this) {
            calls.merge(op, 1L, Long::sum);
            fault = faults.get(op);
        }
        if (removed) {
            throw new ImgscaleException("The bucket " + name + " does not exist; run `imgscale init` (or `imgscale local up`) first.");
        }
        if (fault != null) {
            RuntimeException e = fault.apply(key);
            if (e != null) {
                throw e;
            }
        }
    }

    private static void checkKey(String key) {
        if (key == null || key.isEmpty() || key.endsWith("/")) {
            throw new IllegalArgumentException("not an object key: '" + key + "'");
        }
    }
}
