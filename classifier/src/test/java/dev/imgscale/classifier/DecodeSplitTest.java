package dev.imgscale.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DecodeSplitTest {
    @Test
    void oneDecodeThreadKeepsUpWithInt8ResNetOnTwoCoresForScaledPhotos() {
        // 2 cores, 2 streams of 1 thread, a stream's pass 17 ms/image, decode 6 ms (development images)
        DecodeSplit split = DecodeSplit.choose(2, 2, 1, 6, 17, 0);
        assertEquals(1, split.decodeThreads());
        assertEquals("cores", split.bottleneck(), "decode + inference fill both cores before the engines do");
        assertEquals(2000.0 / 23, split.imagesPerSecond(), 1e-9);
        assertFalse(split.overridden());
    }

    @Test
    void fullSizeTwelveMegapixelDecodesNeedEveryCore() {
        DecodeSplit split = DecodeSplit.choose(2, 2, 1, 126, 17, 0);
        assertEquals(2, split.decodeThreads(), "126 ms of decoding per image needs 1.76 threads at 14 images/s");
        assertEquals(2000.0 / 143, split.imagesPerSecond(), 1e-9);
    }

    @Test
    void moreCoresNeedMoreDecodersAndNeverMoreThanTheCores() {
        assertEquals(3, DecodeSplit.choose(8, 8, 1, 6, 17, 0).decodeThreads(), "8 / 23 images/ms x 6 ms = 2.1 threads");
        assertEquals(4, DecodeSplit.choose(4, 4, 1, 1000, 17, 0).decodeThreads());
        assertEquals(1, DecodeSplit.choose(4, 4, 1, 0, 17, 0).decodeThreads(), "at least one");
    }

    @Test
    void theEnginesBoundTheRateWhenTheyLeaveCoresIdle() {
        // one single-threaded stream on 8 cores: the engine is the limit, 1 / 17 images/ms
        DecodeSplit split = DecodeSplit.choose(8, 1, 1, 40, 17, 0);
        assertEquals("engine", split.bottleneck());
        assertEquals(3, split.decodeThreads(), "40 ms / 17 ms = 2.35 threads to keep one stream fed");
        assertEquals(1000.0 / 17, split.imagesPerSecond(), 1e-9);
    }

    @Test
    void aGivenCountWinsAndSaysWhatItAllows() {
        DecodeSplit given = DecodeSplit.choose(2, 2, 1, 126, 17, 1);
        assertEquals(1, given.decodeThreads());
        assertTrue(given.overridden());
        assertEquals("decode", given.bottleneck());
        assertEquals(1000.0 / 126, given.imagesPerSecond(), 1e-9);
        assertTrue(given.toString().contains("1 decode thread (given)"), given.toString());
    }

    @Test
    void refusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> DecodeSplit.choose(0, 1, 1, 6, 17, 0));
        assertThrows(IllegalArgumentException.class, () -> DecodeSplit.choose(2, 2, 1, 6, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> DecodeSplit.choose(2, 2, 1, Double.NaN, 17, 0));
        assertThrows(IllegalArgumentException.class, () -> DecodeSplit.choose(2, 2, 1, 6, 17, -1));
    }
}
