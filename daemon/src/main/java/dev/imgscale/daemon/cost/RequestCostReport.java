package dev.imgscale.daemon.cost;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * What a run's requests cost: counts by operation and by price class, per image, in USD and in
 * USD per million images, as one line for people and as JSON for tools.
 */
public final class RequestCostReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final RequestCounts counts;
    private final RequestPrices prices;
    private final long images;

    /**
     * @param images how many images the requests were for (0 when unknown: no per-image figures)
     */
    public RequestCostReport(RequestCounts counts, RequestPrices prices, long images) {
        if (images < 0) {
            throw new IllegalArgumentException("images must be 0 or more: " + images);
        }
        this.counts = counts;
        this.prices = prices;
        this.images = images;
    }

    public RequestCounts counts() {
        return counts;
    }

    public long images() {
        return images;
    }

    /** Requests by price class. */
    public Map<RequestPrices.PriceClass, Long> byClass() {
        Map<RequestPrices.PriceClass, Long> out = new EnumMap<>(RequestPrices.PriceClass.class);
        for (RequestPrices.PriceClass c : RequestPrices.PriceClass.values()) {
            out.put(c, 0L);
        }
        counts.byOperation().forEach((k, v) -> out.merge(RequestPrices.classOf(k.service(), k.operation()), v, Long::sum));
        return out;
    }

    /** USD for all the requests counted. */
    public double dollars() {
        double sum = 0;
        for (Map.Entry<RequestCounts.Key, Long> e : counts.byOperation().entrySet()) {
            sum += e.getValue() * prices.each(e.getKey().service(), e.getKey().operation());
        }
        return sum;
    }

    /** USD per million images at this rate, or NaN without an image count. */
    public double dollarsPerMillionImages() {
        return images == 0 ? Double.NaN : dollars() / images * 1_000_000;
    }

    /**
     * One line: {@code requests: 14 images; per image 2.00 S3 PUT-class, 3.07 S3 GET-class,
     * 0.43 SQS; $11.51 per million images (us-east-1 list prices)}.
     */
    public String oneLine() {
        Map<RequestPrices.PriceClass, Long> c = byClass();
        if (images == 0) {
            return String.format(Locale.ROOT, "requests: %d S3 PUT-class, %d S3 GET-class, %d SQS, %d other; $%.6f at list prices",
                    c.get(RequestPrices.PriceClass.S3_PUT), c.get(RequestPrices.PriceClass.S3_GET), c.get(RequestPrices.PriceClass.SQS),
                    c.get(RequestPrices.PriceClass.FREE), dollars());
        }
        return String.format(Locale.ROOT, "requests: %d images; per image %.2f S3 PUT-class, %.2f S3 GET-class, %.2f SQS;"
                        + " $%.2f per million images at list prices", images,
                perImage(c.get(RequestPrices.PriceClass.S3_PUT)), perImage(c.get(RequestPrices.PriceClass.S3_GET)),
                perImage(c.get(RequestPrices.PriceClass.SQS)), dollarsPerMillionImages());
    }

    /** Lines of "operation  count  per-image  USD per million images", for a breakdown. */
    public String table() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%-34s %-22s %10s %10s %12s%n", "operation", "billed as", "requests",
                "per image", "$/M images"));
        counts.byOperation().forEach((k, v) -> {
            double each = prices.each(k.service(), k.operation());
            out.append(String.format(Locale.ROOT, "%-34s %-22s %10d %10s %12s%n", k, RequestPrices.classOf(k.service(), k.operation()).label(), v,
                    images == 0 ? "-" : String.format(Locale.ROOT, "%.3f", perImage(v)),
                    images == 0 ? "-" : String.format(Locale.ROOT, "%.2f", v * each / images * 1_000_000)));
        });
        return out.toString();
    }

    public String toJson() {
        ObjectNode root = JSON.createObjectNode().put("v", 1).put("images", images);
        ObjectNode priceNode = root.putObject("prices");
        priceNode.put("s3PutPerThousand", prices.s3PutPerThousand()).put("s3GetPerThousand", prices.s3GetPerThousand())
                .put("sqsPerMillion", prices.sqsPerMillion());
        ObjectNode ops = root.putObject("requests");
        counts.byOperation().forEach((k, v) -> {
            ObjectNode service = ops.has(k.service()) ? (ObjectNode) ops.get(k.service()) : ops.putObject(k.service());
            service.put(k.operation(), v);
        });
        ObjectNode classes = root.putObject("byClass");
        byClass().forEach((c, v) -> classes.put(c.name(), v));
        root.put("dollars", dollars());
        if (images > 0) {
            root.put("dollarsPerMillionImages", dollarsPerMillionImages());
        }
        return root.toString();
    }

    private double perImage(long n) {
        return (double) n / images;
    }
}
