package dev.imgscale.daemon.shard;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes a POSIX tar (ustar headers; a pax extended header carries a name that is not short
 * ASCII) to a stream and says where each member's data starts, so that a member can later be read
 * with one ranged request. Any tar reads the result ({@code tar -tf}, {@code tar -xf}).
 */
final class TarWriter {
    static final int RECORD = 512;
    static final int BLOCK = 20 * RECORD;

    private final OutputStream out;
    private final long mtime;
    private long position;

    /**
     * @param mtime the members' modification time, seconds since the epoch
     */
    TarWriter(OutputStream out, long mtime) {
        this.out = out;
        this.mtime = mtime;
    }

    /** Bytes written so far. */
    long position() {
        return position;
    }

    /**
     * Adds a regular file of {@code size} bytes read from {@code data}.
     *
     * @return the offset of the member's data in the archive
     * @throws IOException when {@code data} has fewer than {@code size} bytes, or writing fails
     */
    long add(String name, long size, InputStream data) throws IOException {
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        boolean plain = utf8.length <= 100 && isAscii(utf8);
        if (!plain) {
            byte[] pax = paxRecord("path", name);
            writeRecordAligned(header("././@PaxHeader", pax.length, 'x'));
            write(pax);
            pad();
        }
        // the ustar name of a pax member: its ASCII tail, for readers that ignore pax
        writeRecordAligned(header(plain ? name : asciiTail(name), size, '0'));
        long dataOffset = position;
        byte[] buf = new byte[64 * 1024];
        long left = size;
        while (left > 0) {
            int n = data.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                throw new IOException(name + " ended " + left + " bytes early (it changed while being packed?)");
            }
            write(buf, n);
            left -= n;
        }
        pad();
        return dataOffset;
    }

    /** The end-of-archive marker (two zero records), padded to a whole block. */
    void finish() throws IOException {
        write(new byte[2 * RECORD]);
        long rest = (BLOCK - position % BLOCK) % BLOCK;
        write(new byte[(int) rest]);
    }

    /** The bytes {@link #add} writes before a member's data, for sizing a shard in advance. */
    static long overhead(String name, long size) {
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        long header = RECORD;
        if (utf8.length > 100 || !isAscii(utf8)) {
            header += RECORD + roundUp(paxRecord("path", name).length);
        }
        return header + roundUp(size) - size;
    }

    private byte[] header(String name, long size, char type) {
        if (size > 077777777777L) {
            throw new IllegalArgumentException(name + " is larger than a ustar member may be: " + size + " bytes");
        }
        byte[] h = new byte[RECORD];
        put(h, 0, 100, name.getBytes(StandardCharsets.US_ASCII));
        octal(h, 100, 8, 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, mtime);
        Arrays.fill(h, 148, 156, (byte) ' ');
        h[156] = (byte) type;
        put(h, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
        put(h, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        octal(h, 148, 7, sum);
        h[155] = ' ';
        return h;
    }

    /** A pax record: "LEN key=value\n", where LEN counts the whole record, itself included. */
    static byte[] paxRecord(String key, String value) {
        byte[] kv = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8);
        int len = kv.length + 1;
        while (String.valueOf(len).length() + kv.length != len) {
            len = String.valueOf(len).length() + kv.length;
        }
        byte[] prefix = String.valueOf(len).getBytes(StandardCharsets.US_ASCII);
        byte[] out = Arrays.copyOf(prefix, prefix.length + kv.length);
        System.arraycopy(kv, 0, out, prefix.length, kv.length);
        return out;
    }

    private static String asciiTail(String name) {
        StringBuilder b = new StringBuilder();
        for (char c : name.toCharArray()) {
            b.append(c < 0x80 && c >= 0x20 ? c : '_');
        }
        String s = b.toString();
        return s.length() <= 100 ? s : s.substring(s.length() - 100);
    }

    private static boolean isAscii(byte[] utf8) {
        for (byte b : utf8) {
            if (b < 0x20) {
                return false; // negative (non-ASCII) or a control character
            }
        }
        return true;
    }

    private static void put(byte[] h, int at, int width, byte[] value) {
        System.arraycopy(value, 0, h, at, Math.min(width, value.length));
    }

    private static void octal(byte[] h, int at, int width, long value) {
        String s = Long.toOctalString(value);
        String padded = "0".repeat(Math.max(0, width - 1 - s.length())) + s;
        put(h, at, width - 1, padded.getBytes(StandardCharsets.US_ASCII));
        h[at + width - 1] = 0;
    }

    private static long roundUp(long n) {
        return (n + RECORD - 1) / RECORD * RECORD;
    }

    private void writeRecordAligned(byte[] record) throws IOException {
        write(record);
    }

    private void pad() throws IOException {
        long rest = (RECORD - position % RECORD) % RECORD;
        if (rest > 0) {
            write(new byte[(int) rest]);
        }
    }

    private void write(byte[] b) throws IOException {
        write(b, b.length);
    }

    private void write(byte[] b, int len) throws IOException {
        out.write(b, 0, len);
        position += len;
    }
}
