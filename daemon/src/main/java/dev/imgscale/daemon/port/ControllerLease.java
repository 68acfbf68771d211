package dev.imgscale.daemon.port;

/**
 * Makes one controller at a time act on a stack's fleet, so that two started at once never launch
 * past the cap together. The lease outlives a controller's memory: a restarted controller takes it
 * back when the holder is gone.
 */
public interface ControllerLease extends AutoCloseable {
    /** Takes or renews the lease; false while another live controller holds it. */
    boolean acquire();

    /** Gives the lease up. */
    @Override
    void close();
}
