package dev.imgscale.daemon.cost;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an instance-hour costs, by instance type and market (USD). On-Demand: us-east-1 Linux list
 * prices of the types imgscale is deployed on (docs/deploy-aws.md); any other type, or Spot,
 * from the spec ({@code c7i.large=0.08925,c7i.large:spot=0.0310,spot=0.35}). Spot has no list
 * price (it moves with supply), so unless its price is given it is estimated as On-Demand times
 * {@code spot} (default 0.35: the 60-70 % discount AWS quotes for the c7 families) and the
 * report says "estimated". A process of the local stack ({@code local}) costs nothing.
 */
public final class InstancePrices {
    /** us-east-1, Linux, On-Demand, per hour (AWS price list, 2024-2026). */
    private static final Map<String, Double> ON_DEMAND_US_EAST_1 = Map.ofEntries(
            Map.entry("c7i.large", 0.08925), Map.entry("c7i.xlarge", 0.1785), Map.entry("c7i.2xlarge", 0.357),
            Map.entry("c7g.large", 0.0725), Map.entry("c7g.xlarge", 0.145), Map.entry("c7g.2xlarge", 0.29),
            Map.entry("c6i.large", 0.085), Map.entry("c6i.xlarge", 0.17),
            Map.entry("m7i.large", 0.1008), Map.entry("m7i.xlarge", 0.2016),
            Map.entry("c5.large", 0.085), Map.entry("c5.xlarge", 0.17));
    public static final double DEFAULT_SPOT_FACTOR = 0.35;
    public static final InstancePrices US_EAST_1 = new InstancePrices(Map.of(), DEFAULT_SPOT_FACTOR);

    /** What an hour of one instance costs, and whether that is a list price or an estimate. */
    public record Hourly(double usd, boolean estimated, boolean known) {
    }

    private final Map<String, Double> given;
    private final double spotFactor;

    private InstancePrices(Map<String, Double> given, double spotFactor) {
        this.given = Map.copyOf(given);
        this.spotFactor = spotFactor;
    }

    /**
     * The defaults with some prices given: {@code TYPE=USD} (On-Demand), {@code TYPE:spot=USD}, and
     * {@code spot=FACTOR} (Spot as a share of On-Demand where no Spot price is given).
     *
     * @throws IllegalArgumentException naming the part that is not understood
     */
    public static InstancePrices parse(String spec) {
        Map<String, Double> given = new TreeMap<>();
        double factor = DEFAULT_SPOT_FACTOR;
        for (String part : spec.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("instance price '" + part.strip() + "' is not TYPE=USD, TYPE:spot=USD or spot=FACTOR");
            }
            String name = part.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            double value;
            try {
                value = Double.parseDouble(part.substring(eq + 1).strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("instance price '" + part.strip() + "' has no number after '='");
            }
            if (!(value >= 0)) {
                throw new IllegalArgumentException("instance price '" + part.strip() + "' must be 0 or more");
            }
            if (name.equals("spot")) {
                if (value > 1) {
                    throw new IllegalArgumentException("spot=" + value + " is a share of the On-Demand price: 0 to 1");
                }
                factor = value;
            } else {
                given.put(name, value);
            }
        }
        return new InstancePrices(given, factor);
    }

    /** An hour of {@code type} in {@code market} ({@code spot}, {@code on-demand} or {@code local}). */
    public Hourly hourly(String type, String market) {
        if ("local".equals(market) || "local".equals(type)) {
            return new Hourly(0, false, true);
        }
        String t = type == null ? "" : type.toLowerCase(Locale.ROOT);
        boolean spot = "spot".equals(market);
        if (spot && given.containsKey(t + ":spot")) {
            return new Hourly(given.get(t + ":spot"), false, true);
        }
        Double onDemand = given.containsKey(t) ? given.get(t) : ON_DEMAND_US_EAST_1.get(t);
        if (onDemand == null) {
            return new Hourly(0, false, false);
        }
        return spot ? new Hourly(onDemand * spotFactor, true, true) : new Hourly(onDemand, false, true);
    }
}
