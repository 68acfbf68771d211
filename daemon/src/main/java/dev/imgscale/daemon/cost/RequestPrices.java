package dev.imgscale.daemon.cost;

import java.util.Locale;

/**
 * List prices of requests, by the class S3 and SQS bill them in. The defaults are us-east-1's:
 * S3 PUT, COPY, POST and LIST at $0.005 per 1,000; S3 GET, HEAD and every other S3 request at
 * $0.0004 per 1,000; DELETE and abort (cancel) requests free; every SQS request $0.40 per
 * million (a batch of up to ten messages is one request; the 64 KB chunking and the free tier are
 * left out). EC2, SSM and STS API calls are not billed per request.
 *
 * @param s3PutPerThousand   USD per 1,000 S3 PUT/COPY/POST/LIST requests
 * @param s3GetPerThousand   USD per 1,000 S3 GET/HEAD and other requests
 * @param sqsPerMillion      USD per million SQS requests
 */
public record RequestPrices(double s3PutPerThousand, double s3GetPerThousand, double sqsPerMillion) {
    public static final RequestPrices US_EAST_1 = new RequestPrices(0.005, 0.0004, 0.40);

    /** How a request is billed. */
    public enum PriceClass {
        S3_PUT("S3 PUT/COPY/POST/LIST"), S3_GET("S3 GET/HEAD/other"), SQS("SQS"), FREE("not billed per request");

        private final String label;

        PriceClass(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    public RequestPrices {
        if (!(s3PutPerThousand >= 0) || !(s3GetPerThousand >= 0) || !(sqsPerMillion >= 0)) {
            throw new IllegalArgumentException("request prices must be 0 or more: " + s3PutPerThousand + ", " + s3GetPerThousand + ", "
                    + sqsPerMillion);
        }
    }

    /**
     * The default prices with some replaced, from {@code s3-put=0.0055,s3-get=0.00044,sqs=0.50}
     * (any subset, USD as above).
     *
     * @throws IllegalArgumentException naming the part that is not understood
     */
    public static RequestPrices parse(String spec) {
        double put = US_EAST_1.s3PutPerThousand;
        double get = US_EAST_1.s3GetPerThousand;
        double sqs = US_EAST_1.sqsPerMillion;
        for (String part : spec.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            String name = eq < 0 ? part.strip() : part.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            double value;
            try {
                value = eq < 0 ? Double.NaN : Double.parseDouble(part.substring(eq + 1).strip());
            } catch (NumberFormatException e) {
                value = Double.NaN;
            }
            if (Double.isNaN(value) || value < 0) {
                throw new IllegalArgumentException("Cannot read the request price '" + part.strip()
                        + "': write s3-put=USD per 1,000, s3-get=USD per 1,000 or sqs=USD per million, for example s3-put=0.005.");
            }
            switch (name) {
                case "s3-put" -> put = value;
                case "s3-get" -> get = value;
                case "sqs" -> sqs = value;
                default -> throw new IllegalArgumentException("Unknown request price '" + name + "': the prices are s3-put, s3-get and sqs.");
            }
        }
        return new RequestPrices(put, get, sqs);
    }

    /** The class an operation is billed in, by the SDK's service and operation names. */
    public static PriceClass classOf(String service, String operation) {
        if (service.equals("SQS")) {
            return PriceClass.SQS;
        }
        if (!service.equals("S3")) {
            return PriceClass.FREE;
        }
        if (operation.startsWith("Delete") || operation.startsWith("Abort")) {
            return PriceClass.FREE;
        }
        if (operation.startsWith("Put") || operation.startsWith("Copy") || operation.startsWith("Post") || operation.startsWith("List")
                || operation.startsWith("Create") || operation.startsWith("UploadPart") || operation.equals("CompleteMultipartUpload")
                || operation.startsWith("Restore")) {
            return PriceClass.S3_PUT;
        }
        return PriceClass.S3_GET;
    }

    /** USD for one request of the class. */
    public double each(PriceClass c) {
        return switch (c) {
            case S3_PUT -> s3PutPerThousand / 1_000;
            case S3_GET -> s3GetPerThousand / 1_000;
            case SQS -> sqsPerMillion / 1_000_000;
            case FREE -> 0;
        };
    }

    /** USD for one request of the operation. */
    public double each(String service, String operation) {
        return each(classOf(service, operation));
    }
}
