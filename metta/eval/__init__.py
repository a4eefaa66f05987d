"""Reading evaluation results back: statistics over stats databases (`analysis`), the HTML
and JSON report (`report_html`), and the dashboard that also carries training curves
(`dashboard`). See docs/analysis.md."""
