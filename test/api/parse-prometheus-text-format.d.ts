// Types for the parser the Prometheus tests use (the package ships none).
declare module 'parse-prometheus-text-format' {
  interface Metric {
    readonly value: string;
    readonly labels?: Record<string, string>;
  }
  interface Family {
    readonly name: string;
    readonly help: string;
    readonly type: string;
    readonly metrics: Metric[];
  }
  export default function parsePrometheusTextFormat(text: string): Family[];
}
