import client from 'prom-client';

/** Prometheus metrics shared by every role; /metrics serves the registry. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export const metrics = {
  recordingsActive: new client.Gauge({ name: 'roomcast_recordings_active', help: 'Recordings this process is recording', registers: [registry] }),
  uploads: new client.Counter({ name: 'roomcast_uploads_total', help: 'Objects written to S3', labelNames: ['kind'], registers: [registry] }),
  uploadRetries: new client.Counter({ name: 'roomcast_upload_retries_total', help: 'Failed S3 writes that were retried', registers: [registry] }),
  segmentsUploaded: new client.Counter({ name: 'roomcast_hls_segments_uploaded_total', help: 'HLS segments readable in S3', registers: [registry] }),
  lateSamples: new client.Counter({ name: 'roomcast_late_samples_total', help: 'Audio samples that arrived after their slice was mixed', registers: [registry] }),
  webhooks: new client.Counter({ name: 'roomcast_webhooks_total', help: 'LiveKit webhooks by outcome', labelNames: ['event', 'outcome'], registers: [registry] }),
};
