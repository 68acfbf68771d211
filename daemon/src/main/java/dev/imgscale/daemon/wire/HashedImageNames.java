package dev.imgscale.daemon.wire;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * {@link ImageNames}' rule for a job of any size, in bounded memory: a collision suffix never takes
 * a name another input has, compared case-sensitively. Two passes over the inputs, in the same
 * order: {@link #claim} every input first, then {@link #unique} each. What is kept is not the names
 * but a 64-bit hash of each (the first 8 bytes of its SHA-256), in open-addressed tables of
 * {@code long}s: 8 bytes a name at a load of 0.35 to 0.7, so 11 to 23 bytes per name per table;
 * the two tables (the inputs' names, the names given out) take 23-46 MB per million images, where
 * the names themselves would take 100-200 MB and more.
 *
 * <p>Why hashes are enough: equal names have equal hashes, so the two guarantees hold exactly: no
 * two inputs get one name (a name given out is in the table of given names), and no suffix takes
 * another input's name (every input's name is in the claimed table). A hash collision between two
 * different names can only make a free name look taken, so an input gets a suffix it did not need
 * (or a higher number): for SHA-256 truncated to 64 bits, the chance of any collision among a
 * million names is about 10^12 / 2^65, under 10^-7. The result is then a different but still
 * valid naming, never a wrong one. With no collision it is exactly {@link ImageNames#assign}'s.
 */
public final class HashedImageNames {
    private final LongSet claimed = new LongSet();
    private final LongSet used = new LongSet();
    private final MessageDigest sha256;

    public HashedImageNames() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    /** First pass: an input (a relative path) of the job. */
    public synchronized void claim(String relative) {
        claimed.add(hash(ImageNames.sanitise(relative)));
    }

    /** Second pass: the input's unique name (the first input with a name keeps it). */
    public synchronized String unique(String relative) {
        String name = ImageNames.sanitise(relative);
        if (used.add(hash(name))) {
            return name;
        }
        return ImageNames.suffixed(name, candidate -> {
            long h = hash(candidate);
            return !claimed.contains(h) && used.add(h);
        });
    }

    /** Names kept (hashes of inputs and of names given out), for tests of the memory bound. */
    public synchronized long hashesHeld() {
        return claimed.size() + used.size();
    }

    private long hash(String name) {
        byte[] d = sha256.digest(name.getBytes(StandardCharsets.UTF_8));
        long h = 0;
        for (int i = 0; i < 8; i++) {
            h = (h << 8) | (d[i] & 0xff);
        }
        return h;
    }

    /** A set of longs, open addressing with linear probing; 0 marks a free slot, so 0 is stored as 1 (one more collision). */
    static final class LongSet {
        private long[] slots = new long[1024];
        private int size;

        boolean add(long h) {
            long v = h == 0 ? 1 : h;
            if ((size + 1) * 10L > slots.length * 7L) {
                grow();
            }
            int i = index(v, slots.length);
            while (slots[i] != 0) {
                if (slots[i] == v) {
                    return false;
                }
                i = (i + 1) & (slots.length - 1);
            }
            slots[i] = v;
            size++;
            return true;
        }

        boolean contains(long h) {
            long v = h == 0 ? 1 : h;
            int i = index(v, slots.length);
            while (slots[i] != 0) {
                if (slots[i] == v) {
                    return true;
                }
                i = (i + 1) & (slots.length - 1);
            }
            return false;
        }

        int size() {
            return size;
        }

        private void grow() {
            long[] old = slots;
            slots = new long[old.length * 2];
            for (long v : old) {
                if (v != 0) {
                    int i = index(v, slots.length);
                    while (slots[i] != 0) {
                        i = (i + 1) & (slots.length - 1);
                    }
                    slots[i] = v;
                }
            }
        }

        private static int index(long v, int length) {
            return (int) (v ^ (v >>> 32)) & (length - 1);
        }
    }
}
