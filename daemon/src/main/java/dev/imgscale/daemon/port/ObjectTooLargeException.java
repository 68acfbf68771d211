package dev.imgscale.daemon.port;

/** An object is larger than the caller is willing to read into memory; nothing of it was read. */
public final class ObjectTooLargeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final long size;
    private final long limit;

    public ObjectTooLargeException(String key, long size, long limit) {
        super(key + " has " + size + " bytes, over the " + limit + "-byte limit");
        this.size = size;
        this.limit = limit;
    }

    public long size() {
        return size;
    }

    public long limit() {
        return limit;
    }
}
