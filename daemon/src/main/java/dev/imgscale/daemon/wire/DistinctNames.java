package dev.imgscale.daemon.wire;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A set of names held as a 128-bit hash of each (the first 16 bytes of its SHA-256) in an
 * open-addressed table, 16 bytes a name at a load of 0.35 to 0.7: 23-46 MB for a million names,
 * where a set of the names themselves takes about 150 MB (a String and a hash-map entry each).
 * Readers keep one row per image with it, and {@link HashedImageNames} the names of an upload.
 *
 * <p>Why a hash is enough: equal names have equal hashes, so a name added is always found; only
 * two different names whose SHA-256 agree in their first 128 bits could make one look present,
 * and for a billion names the chance of that is about 10^18 / 2^129, under 10^-20 (far below a
 * disk's or a memory's undetected error rate). Not thread-safe.
 */
public final class DistinctNames {
    private static final int START = 1024; // pairs of longs

    private final MessageDigest sha256;
    private long[] slots = new long[2 * START]; // [2i] high, [2i+1] low; 0,0 marks a free slot
    private int size;

    public DistinctNames() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    /** Adds the name; true when it was not there yet, false when it was. */
    public boolean add(String name) {
        if ((size + 1) * 10L > (slots.length / 2) * 7L) {
            grow();
        }
        Hash h = hash(name);
        int i = slot(h.high(), h.low());
        if (slots[2 * i] != 0 || slots[2 * i + 1] != 0) {
            return false;
        }
        slots[2 * i] = h.high();
        slots[2 * i + 1] = h.low();
        size++;
        return true;
    }

    /** Whether the name was added. */
    public boolean contains(String name) {
        Hash h = hash(name);
        int i = slot(h.high(), h.low());
        return slots[2 * i] != 0 || slots[2 * i + 1] != 0;
    }

    private record Hash(long high, long low) {
    }

    private Hash hash(String name) {
        byte[] d = sha256.digest(name.getBytes(StandardCharsets.UTF_8));
        long high = longAt(d, 0);
        long low = longAt(d, 8);
        return new Hash(high, high == 0 && low == 0 ? 1 : low); // 0,0 marks a free slot
    }

    /** The slot holding this hash, or the free slot where it would go. */
    private int slot(long high, long low) {
        int mask = slots.length / 2 - 1;
        int i = (int) (high ^ (high >>> 32)) & mask;
        while ((slots[2 * i] != 0 || slots[2 * i + 1] != 0) && (slots[2 * i] != high || slots[2 * i + 1] != low)) {
            i = (i + 1) & mask;
        }
        return i;
    }

    /** How many distinct names were added. */
    public int size() {
        return size;
    }

    /** The bytes the table takes, for tests of the memory bound. */
    public long bytesHeld() {
        return slots.length * 8L;
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        int mask = slots.length / 2 - 1;
        for (int j = 0; j < old.length; j += 2) {
            long high = old[j];
            long low = old[j + 1];
            if (high != 0 || low != 0) {
                int i = (int) (high ^ (high >>> 32)) & mask;
                while (slots[2 * i] != 0 || slots[2 * i + 1] != 0) {
                    i = (i + 1) & mask;
                }
                slots[2 * i] = high;
                slots[2 * i + 1] = low;
            }
        }
    }

    private static long longAt(byte[] b, int offset) {
        long v = 0;
        for (int i = offset; i < offset + 8; i++) {
            v = (v << 8) | (b[i] & 0xff);
        }
        return v;
    }
}
