package dev.imgscale.cli;

/**
 * The exit codes scripts can rely on; every command returns one of these.
 * <ul>
 *   <li>0: success</li>
 *   <li>1: failure (a clear message on stderr says what and how to fix it)</li>
 *   <li>2: usage error (bad flags or arguments)</li>
 *   <li>3: partial success: some images failed, the rest were labelled</li>
 *   <li>4: not complete yet: some images of the job have no result (results without --follow,
 *       or a --timeout that ran out)</li>
 * </ul>
 */
public final class ExitCodes {
    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;
    public static final int PARTIAL = 3;
    public static final int INCOMPLETE = 4;

    private ExitCodes() {
    }
}
