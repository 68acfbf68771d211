package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.cost.RequestLedger;
import java.util.Locale;
import java.util.Objects;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

/**
 * Counts every HTTP request a client sends, by the SDK's service and operation names
 * ("S3"/"GetObject", "SQS"/"SendMessageBatch"). It counts at transmission, once per attempt,
 * because AWS bills retried requests too.
 */
final class CountingInterceptor implements ExecutionInterceptor {
    private final RequestLedger ledger;

    CountingInterceptor(RequestLedger ledger) {
        this.ledger = Objects.requireNonNull(ledger, "ledger");
    }

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
        String service = attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME);
        String operation = attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        // The SDK says "S3" but "Sqs", "Ec2": one spelling, as the price list and AWS's bills write them.
        ledger.record(service == null ? "UNKNOWN" : service.toUpperCase(Locale.ROOT), operation == null ? "unknown" : operation);
    }
}
