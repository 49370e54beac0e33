import java.io.DataInputStream;
import java.io.BufferedInputStream;
import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The load generator of bench:e2e's fixed-rate phases: sends pre-encoded Avro frames at a fixed
 * rate, each with its time field set to the moment it is handed to the producer. A kafkajs
 * producer in the bench's own process took 0.46 core at 18,786 frames/s on this 2-core machine,
 * which the detector under test then lacked; this takes about 0.1 (serial GC, linger 5 ms: the
 * KafkaSink default; with linger 2 ms it took 0.14).
 *
 * <p>Run by bench/e2e/harness.ts in source-file mode: java -cp 'kafka-libs/*' RateProducer.java
 * BOOTSTRAP TOPIC TEMPLATES RATE SECONDS HEADER_NAME HEADER_VALUE. TEMPLATES: an int count, then
 * per frame a short key length, the key, an int value length, the Avro value, and a short offset
 * of the frame's time (a zig-zag varint) in the value. Frames are sent in order, cycling through
 * the templates. Prints "started EPOCH_MS" when the first frame is due, a progress line every
 * 5 s, and at the end "done sent=N acked=N failed=N behindMaxMs=N cpuMs=N" (behind: how far
 * sending lagged the schedule at worst; cpuMs: this process's CPU from the first frame to the
 * last ack).
 */
public class RateProducer {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    double rate = Double.parseDouble(args[3]);
    double seconds = Double.parseDouble(args[4]);
    RecordHeaders headers = new RecordHeaders();
    headers.add(args[5], args[6].getBytes(StandardCharsets.UTF_8));
    headers.setReadOnly();

    int n;
    byte[][] keys;
    byte[][] values;
    int[] timeAt;
    try (DataInputStream in =
        new DataInputStream(new BufferedInputStream(new FileInputStream(args[2])))) {
      n = in.readInt();
      keys = new byte[n][];
      values = new byte[n][];
      timeAt = new int[n];
      for (int i = 0; i < n; i++) {
        keys[i] = new byte[in.readUnsignedShort()];
        in.readFully(keys[i]);
        values[i] = new byte[in.readInt()];
        in.readFully(values[i]);
        timeAt[i] = in.readUnsignedShort();
      }
    }

    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("acks", "all");
    props.put("enable.idempotence", "true");
    props.put("linger.ms", "5");
    props.put("batch.size", "262144");
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());

    AtomicLong acked = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long sent = 0;
    long behindMaxMs = 0;
    long cpuAtStart = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      // The topic's metadata now, or the first send() blocks for it and the schedule starts late.
      producer.partitionsFor(topic);
      long start = System.nanoTime();
      System.out.println("started " + System.currentTimeMillis());
      cpuAtStart = cpuNanos();
      long end = start + (long) (seconds * 1e9);
      long nextProgress = start + 5_000_000_000L;
      for (long now = start; now < end; now = System.nanoTime()) {
        long due = (long) ((now - start) / 1e9 * rate);
        long behindMs = (long) ((due - sent) * 1000 / rate);
        if (behindMs > behindMaxMs) {
          behindMaxMs = behindMs;
          if (behindMs >= 20)
            System.out.println("behind " + behindMs + " ms at " + (now - start) / 1_000_000 + " ms");
        }
        for (; sent < due; sent++) {
          int i = (int) (sent % n);
          byte[] value = values[i].clone();
          writeTime(value, timeAt[i], System.currentTimeMillis());
          producer.send(
              new ProducerRecord<>(topic, null, null, keys[i], value, headers),
              (meta, err) -> (err == null ? acked : failed).incrementAndGet());
        }
        if (now >= nextProgress) {
          System.out.println("progress sent=" + sent + " acked=" + acked.get());
          nextProgress += 5_000_000_000L;
        }
        Thread.sleep(1);
      }
      producer.flush();
    }
    long cpuMs = (cpuNanos() - cpuAtStart) / 1_000_000;
    System.out.println(
        "done sent=" + sent + " acked=" + acked.get() + " failed=" + failed.get()
            + " behindMaxMs=" + behindMaxMs + " cpuMs=" + cpuMs);
  }

  /** This process's CPU time so far (all threads: sender, GC, JIT). */
  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** Overwrites the Avro long at `at` with `millis`; the template's varint has the same length. */
  static void writeTime(byte[] value, int at, long millis) {
    int oldLength = 0;
    while ((value[at + oldLength] & 0x80) != 0) oldLength++;
    oldLength++;
    long z = (millis << 1) ^ (millis >> 63);
    int i = at;
    while ((z & ~0x7FL) != 0) {
      value[i++] = (byte) ((z & 0x7F) | 0x80);
      z >>>= 7;
    }
    value[i++] = (byte) z;
    if (i - at != oldLength)
      throw new IllegalStateException("time varint length changed: " + oldLength + " -> " + (i - at));
  }
}
