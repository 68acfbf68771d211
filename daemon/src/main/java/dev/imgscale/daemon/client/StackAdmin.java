package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.Keys;
import java.util.List;

/** Looking after a stack as a whole: its queues' depths, and removing a job or everything. */
@ThreadSafe
final class StackAdmin {
    private final StackContext stack;

    StackAdmin(StackContext stack) {
        this.stack = stack;
    }

    JobClient.QueueStatus queues() {
        return new JobClient.QueueStatus(stack.requests().depth(), stack.deadLetters().depth(), stack.results().depth());
    }

    /** See {@link JobClient#reset}. */
    JobClient.ResetReport reset(String job) {
        int deleted = 0;
        if (job != null) {
            Jobs.check(job);
            // the manifest goes first: from then on a worker treats the job's requests as cancelled
            deleted += Jobs.deleteAll(stack.output(), List.of(Keys.manifest(job)));
            deleted += Jobs.deleteAll(stack.input(), stack.input().list(Keys.inputPrefix(job)));
            deleted += Jobs.deleteAll(stack.input(), stack.input().list(Keys.shardPrefix(job)));
            deleted += Jobs.deleteAll(stack.output(), stack.output().list(Keys.resultPrefix(job)));
            deleted += Jobs.deleteAll(stack.output(), stack.output().list(Keys.JOBS + job + "/"));
            return new JobClient.ResetReport(deleted, false);
        }
        stack.requests().purge();
        stack.deadLetters().purge();
        stack.results().purge();
        deleted += Jobs.deleteAll(stack.input(), stack.input().list(""));
        deleted += Jobs.deleteAll(stack.output(), stack.output().list(""));
        return new JobClient.ResetReport(deleted, true);
    }
}
