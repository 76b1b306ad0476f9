import client from 'prom-client';

/** Prometheus metrics shared by every role; /metrics serves the registry. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export const metrics = {
  recordingsActive: new client.Gauge({ name: 'roomcast_recordings_active', help: 'Recordings this process is recording', registers: [registry] }),
  uploads: new client.Counter({ name: 'roomcast_uploads_total', help: 'Objects written to S3', labelNames: ['kind'], registers: [registry] }),
  uploadRetries: new client.Counter({ name: 'roomcast_upload_retries_total', help: 'Failed S3 writes that were retried', registers: [registry] }),
  resumes: new client.Counter({ name: 'roomcast_recordings_resumed_total', help: 'Recordings resumed after their ingest was lost', registers: [registry] }),
  spoolFreeBytes: new client.Gauge({ name: 'roomcast_spool_free_bytes', help: 'Free bytes on the spool disk', registers: [registry] }),
  spoolBytes: new client.Gauge({ name: 'roomcast_spool_bytes', help: 'Bytes spooled on local disk waiting for S3', registers: [registry] }),
  acceptingRooms: new client.Gauge({ name: 'roomcast_ingest_accepting_rooms', help: '1 while this ingest takes new rooms, 0 while its spool is over its bound or its disk is low', registers: [registry] }),
  segmentsUploaded: new client.Counter({ name: 'roomcast_hls_segments_uploaded_total', help: 'HLS segments readable in S3', registers: [registry] }),
  edgeDropped: new client.Counter({ name: 'roomcast_edge_entries_dropped_total', help: 'LL-HLS parts not handed to the live edge (Redis away or behind)', registers: [registry] }),
  edgeBytes: new client.Gauge({ name: 'roomcast_edge_bytes', help: 'Bytes of LL-HLS parts this api process keeps in memory (all live recordings it follows)', registers: [registry] }),
  edgeListeners: new client.Gauge({ name: 'roomcast_edge_blocked_reloads', help: 'Blocking playlist reloads and part requests this api process holds', registers: [registry] }),
  edgePartSeconds: new client.Histogram({
    name: 'roomcast_edge_part_answer_seconds',
    help: 'From a part reaching this api process to the blocked requests for it being answered',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  }),
  segmentUploadSeconds: new client.Histogram({
    name: 'roomcast_segment_upload_seconds',
    help: 'From an HLS segment closing in the spool to it being readable in S3',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  }),
  jobSeconds: new client.Histogram({
    name: 'roomcast_job_seconds',
    help: 'Duration of after-the-room stages',
    labelNames: ['stage', 'outcome'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  }),
  transcriptionRtf: new client.Histogram({
    name: 'roomcast_transcription_rtf',
    help: 'Transcription real-time factor (processing time / audio time) per engine',
    labelNames: ['engine'],
    buckets: [0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5],
    registers: [registry],
  }),
  delayShift: new client.Histogram({
    name: 'roomcast_jitter_delay_shift_ms',
    help: "Shifts applied to a speaker's audio for its jitter-buffer delay (ms from nominal; negative = earlier)",
    buckets: [-100, -50, -20, -10, -5, 0, 5, 10, 20, 50],
    registers: [registry],
  }),
  lateSamples: new client.Counter({ name: 'roomcast_late_samples_total', help: 'Audio samples that arrived after their slice was mixed', registers: [registry] }),
  webhooks: new client.Counter({ name: 'roomcast_webhooks_total', help: 'LiveKit webhooks by outcome', labelNames: ['event', 'outcome'], registers: [registry] }),
};
