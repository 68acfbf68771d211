package dev.imgscale.cli.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;

/** What this process has spent, read from the JVM's management beans: figures beside the benchmarks' wall times. */
public final class ProcessMetrics {
    private ProcessMetrics() {
    }

    /**
     * CPU time this process has used (every thread, the in-process S3 and SQS included): unlike
     * wall time, it does not depend on how much of the machine other work takes.
     */
    public static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }

    /**
     * CPU time of the live threads of the in-process S3 and SQS servers (S3Proxy's Jetty,
     * ElasticMQ's Pekko): work that a worker on EC2 leaves to AWS, but that here takes the
     * same two cores as the worker. A server thread that ended meanwhile is not counted, so
     * this is a floor.
     */
    public static long serverCpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && (info.getThreadName().startsWith("S3Proxy") || info.getThreadName().startsWith("elasticmq"))) {
                long t = threads.getThreadCpuTime(info.getThreadId());
                sum += Math.max(0, t);
            }
        }
        return sum;
    }

    /** Milliseconds the JIT compilers have spent compiling in this process. */
    public static long jitMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }

    public static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
