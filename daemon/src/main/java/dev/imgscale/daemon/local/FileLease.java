package dev.imgscale.daemon.local;

import dev.imgscale.daemon.port.ControllerLease;
import dev.imgscale.classifier.ImgscaleException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The lease for controllers on one machine (the local fleet): an OS file lock, which the kernel
 * releases when its process dies, however it dies, so a restarted controller takes it at once.
 */
public final class FileLease implements ControllerLease {
    private final Path file;
    private FileChannel channel;
    private FileLock lock;

    public FileLease(Path file) {
        this.file = file;
    }

    @Override
    public synchronized boolean acquire() {
        if (lock != null && lock.isValid()) {
            return true;
        }
        try {
            Files.createDirectories(file.getParent());
            if (channel == null) {
                channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            }
            lock = channel.tryLock();
            return lock != null;
        } catch (OverlappingFileLockException e) {
            return false; // held by another controller in this same JVM
        } catch (IOException e) {
            throw new ImgscaleException("Cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (lock != null) {
                lock.release();
            }
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // closing a lock file cannot lose anything
        } finally {
            lock = null;
            channel = null;
        }
    }
}
