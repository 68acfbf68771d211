package dev.imgscale.daemon.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class InstancePricesTest {
    @Test
    void should_use_list_prices_and_estimate_spot_unless_given() {
        InstancePrices p = InstancePrices.US_EAST_1;
        assertEquals(new InstancePrices.Hourly(0.08925, false, true), p.hourly("c7i.large", "on-demand"));
        InstancePrices.Hourly spot = p.hourly("c7i.large", "spot");
        assertEquals(0.08925 * 0.35, spot.usd(), 1e-12);
        assertTrue(spot.estimated());
        assertFalse(p.hourly("z1d.metal", "on-demand").known());
        assertEquals(0.0, p.hourly("local", "local").usd());
    }

    @Test
    void should_take_given_prices_and_a_spot_share() {
        InstancePrices p = InstancePrices.parse("c7i.large=0.1, c7i.large:spot=0.03, z1d.metal=4.464, spot=0.5");
        assertEquals(new InstancePrices.Hourly(0.03, false, true), p.hourly("c7i.large", "spot"));
        assertEquals(0.1, p.hourly("C7I.LARGE", "on-demand").usd(), 1e-12);
        assertEquals(4.464 * 0.5, p.hourly("z1d.metal", "spot").usd(), 1e-12);
    }

    @Test
    void should_refuse_what_it_cannot_read_naming_the_part() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> InstancePrices.parse("c7i.large")).getMessage().contains("c7i.large"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> InstancePrices.parse("c7i.large=cheap")).getMessage().contains("cheap"));
        assertThrows(IllegalArgumentException.class, () -> InstancePrices.parse("spot=2"));
        assertThrows(IllegalArgumentException.class, () -> InstancePrices.parse("c7i.large=-1"));
    }
}
