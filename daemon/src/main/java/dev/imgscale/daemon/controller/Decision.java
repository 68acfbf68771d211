package dev.imgscale.daemon.controller;

import java.util.List;

/**
 * What a policy wants done this tick.
 *
 * @param launch      new workers to launch
 * @param drain       workers to tell to finish what they hold and stop
 * @param cancelDrain draining workers to put back in service (work came back)
 * @param terminate   workers to terminate: only DRAINED, LOST or BOOTING ones (they hold nothing)
 * @param kill        workers to terminate whatever they hold: only baseline policies in the simulator
 *                    do this, the controller refuses it otherwise
 * @param reason      one line saying why, for the log
 */
public record Decision(int launch, List<String> drain, List<String> cancelDrain, List<String> terminate, List<String> kill,
                       String reason) {
    public Decision {
        drain = List.copyOf(drain);
        cancelDrain = List.copyOf(cancelDrain);
        terminate = List.copyOf(terminate);
        kill = List.copyOf(kill);
        if (launch < 0) {
            throw new IllegalArgumentException("launch < 0");
        }
    }

    public static Decision nothing(String reason) {
        return new Decision(0, List.of(), List.of(), List.of(), List.of(), reason);
    }

    public boolean changesAnything() {
        return launch > 0 || !drain.isEmpty() || !cancelDrain.isEmpty() || !terminate.isEmpty() || !kill.isEmpty();
    }
}
