package dev.imgscale.daemon.controller;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The longest spell (under a minute) of an empty queue, in the last ten minutes, that ended with new
 * work: work that pauses like this is not over when it pauses. Kept in memory only: after a restart
 * it is zero until the next pause, which makes the policy quicker to drain, never unsafe.
 */
final class QuietGaps {
    /** A pause of a minute or more is worth draining through: a new worker's boot costs less than
     * keeping one idle that long (instances bill at least 60 s anyway). */
    private static final Duration LONGEST_KEPT = Duration.ofSeconds(60);
    private static final Duration REMEMBERED = Duration.ofMinutes(10);

    private record Gap(Instant ended, Instant began) {
        Duration length() {
            return Duration.between(began, ended);
        }
    }

    private final Deque<Gap> gaps = new ArrayDeque<>();
    private Instant quietSince;

    /** Takes this tick's backlog into account and returns the longest recent pause. */
    Duration update(long backlog, Instant now) {
        if (backlog == 0) {
            if (quietSince == null) {
                quietSince = now;
            }
        } else if (quietSince != null) {
            if (Duration.between(quietSince, now).compareTo(LONGEST_KEPT) < 0) {
                gaps.addLast(new Gap(now, quietSince));
            }
            quietSince = null;
        }
        while (!gaps.isEmpty() && Duration.between(gaps.peekFirst().ended(), now).compareTo(REMEMBERED) > 0) {
            gaps.removeFirst();
        }
        Duration longest = Duration.ZERO;
        for (Gap g : gaps) {
            if (g.length().compareTo(longest) > 0) {
                longest = g.length();
            }
        }
        return longest;
    }
}
