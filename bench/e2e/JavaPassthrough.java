import java.io.ByteArrayOutputStream;
import java.io.File;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The JVM anchor of bench:e2e: the kafkajs passthrough's work done by the Java clients. Consumes
 * N records of INPUT from its start (group GROUP, auto-commit), decodes each value with Apache
 * Avro (generic records, SCHEMA_FILE), encodes it again and produces it with its key and headers
 * to OUTPUT (idempotent, acks=all), until N records were produced and acked.
 *
 * <p>Run by bench/e2e/harness.ts in source-file mode: java -cp 'kafka-libs/*:avro-libs/*'
 * JavaPassthrough.java BOOTSTRAP INPUT OUTPUT N GROUP SCHEMA_FILE. Prints "done frames=N
 * seconds=S cpuMs=C failed=F": seconds and cpuMs (this process's CPU, all threads) from the
 * first record received to the last ack.
 */
public class JavaPassthrough {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String input = args[1];
    String output = args[2];
    long n = Long.parseLong(args[3]);
    String group = args[4];
    Schema schema = new Schema.Parser().parse(new File(args[5]));

    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", group);
    c.put("auto.offset.reset", "earliest");
    c.put("enable.auto.commit", "true");
    c.put("key.deserializer", ByteArrayDeserializer.class.getName());
    c.put("value.deserializer", ByteArrayDeserializer.class.getName());
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    p.put("enable.idempotence", "true");
    p.put("linger.ms", "5");
    p.put("batch.size", "262144");
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());

    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(schema);
    GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(schema);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    BinaryDecoder decoder = null;
    BinaryEncoder encoder = null;
    AtomicLong failed = new AtomicLong();
    long seen = 0;
    long startNanos = 0;
    long cpuAtStart = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      consumer.subscribe(List.of(input));
      while (seen < n) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<byte[], byte[]> r : records) {
          if (seen == 0) {
            startNanos = System.nanoTime();
            cpuAtStart = cpuNanos();
          }
          decoder = DecoderFactory.get().binaryDecoder(r.value(), decoder);
          GenericRecord frame = reader.read(null, decoder);
          bytes.reset();
          encoder = EncoderFactory.get().binaryEncoder(bytes, encoder);
          writer.write(frame, encoder);
          encoder.flush();
          producer.send(
              new ProducerRecord<>(output, null, null, r.key(), bytes.toByteArray(), r.headers()),
              (meta, err) -> {
                if (err != null) failed.incrementAndGet();
              });
          if (++seen >= n) break;
        }
      }
      producer.flush();
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      long cpuMs = (cpuNanos() - cpuAtStart) / 1_000_000;
      System.out.println(
          "done frames=" + seen + " seconds=" + seconds + " cpuMs=" + cpuMs + " failed=" + failed.get());
    }
  }

  /** This process's CPU time so far (all threads: consumer, sender, GC, JIT). */
  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }
}
