package dev.imgscale.daemon.local;

import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.cost.RequestLedger;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One local stack (S3Proxy + ElasticMQ) and the SDK clients to it for all the tests of an
 * integration test class: started before them, closed after them, clients first. Register it as a
 * static field: {@code @RegisterExtension static final LocalStackExtension local = new
 * LocalStackExtension(() -> dataDir);}. The directory is asked for only when the stack starts, so
 * a static {@code @TempDir} field will do: JUnit fills those in before this extension's callbacks.
 */
public final class LocalStackExtension implements BeforeAllCallback, AfterAllCallback {
    private final Supplier<Path> dataDir;
    private final RequestLedger ledger;
    private LocalStack stack;
    private AwsClients aws;

    /** The clients count their requests in a ledger of their own, as {@link AwsClients#AwsClients(dev.imgscale.daemon.aws.AwsSettings)} does. */
    public LocalStackExtension(Supplier<Path> dataDir) {
        this(dataDir, null);
    }

    /** The clients count their requests in {@code ledger}, for tests that assert the requests sent. */
    public LocalStackExtension(Supplier<Path> dataDir, RequestLedger ledger) {
        this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
        this.ledger = ledger;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        Path dir = Objects.requireNonNull(dataDir.get(), "the local stack's directory is not set yet (a static @TempDir field?)");
        stack = LocalStack.start(dir, 0, 0);
        aws = ledger == null ? new AwsClients(stack.settings()) : new AwsClients(stack.settings(), ledger);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (aws != null) {
            aws.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    public LocalStack stack() {
        return stack;
    }

    public AwsClients aws() {
        return aws;
    }
}
