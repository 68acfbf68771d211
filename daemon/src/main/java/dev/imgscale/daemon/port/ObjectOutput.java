package dev.imgscale.daemon.port;

import java.io.OutputStream;

/**
 * An object being written: {@link #close()} stores it (and fails if it cannot), {@link #abort()}
 * gives it up. Closing after an abort does nothing.
 */
public abstract class ObjectOutput extends OutputStream {
    /** Bytes written so far. */
    public abstract long written();

    /** Gives the object up: nothing is stored, parts already sent are discarded. */
    public abstract void abort();
}
