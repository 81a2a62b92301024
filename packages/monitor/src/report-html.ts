import { formatBytes } from '@redis-cluster/core'
import type { ClusterReport, NodeRow } from './report.ts'

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const cells = (values: readonly (string | number)[], tag = 'td') => `<tr>${values.map((v) => `<${tag}>${esc(String(v))}</${tag}>`).join('')}</tr>`

const HEAD = ['node', 'address', 'role', 'master', 'keys', 'expiry', 'memory', 'peak', 'maxmemory', 'frag', 'clients', 'blocked', 'ops/s', 'hit %', 'expired', 'evicted', 'rejected', 'lag', 'rdb', 'aof']

function rowOf(n: NodeRow): (string | number)[] {
  if (!n.up) return [n.node, n.address, 'down', n.error]
  const lag = n.role === 'replica' ? `${n.lagBytes === undefined ? '?' : formatBytes(n.lagBytes)} / ${n.lagSeconds}s${n.linkUp ? '' : ' (link down)'}` : '-'
  const rdb = `${n.rdbLastSaveOk ? 'ok' : 'FAILED'} ${new Date(n.rdbLastSave * 1000).toISOString().slice(0, 19).replace('T', ' ')}`
  const aof = n.aofEnabled ? `${n.aofLastWriteOk && n.aofLastRewriteOk ? 'ok' : 'FAILED'} ${formatBytes(n.aofSize ?? 0)}` : 'off'
  return [n.node, n.address, n.role, n.master ?? '-', n.keys, n.keysWithExpiry, formatBytes(n.usedMemory), formatBytes(n.peakMemory), n.maxMemory ? formatBytes(n.maxMemory) : '-', n.fragmentation.toFixed(2), n.clients, n.blockedClients, n.opsPerSec, n.hitRatio === null ? '-' : (n.hitRatio * 100).toFixed(1), n.expiredKeys, n.evictedKeys, n.rejectedConnections, lag, rdb, aof]
}

/**
 * One self-contained page (`report --html FILE`): no network at all, the CSS
 * and script inline. The tables are plain HTML (readable without script); the
 * charts (keys and memory per node, replica lag) are SVG drawn by the inline
 * script from the report embedded as JSON, so the page carries its own data.
 */
export function renderReportHtml(report: ClusterReport): string {
  const { totals } = report
  const shards = report.shards
    .map((s) => {
      const members = report.nodes.filter((n) => n.shard === s.shard)
      const title = `shard ${s.shard}${s.master ? `, master ${s.master}` : ''}: ${s.nodesUp}/${s.nodes.length} up, ${s.keys} keys, ${formatBytes(s.usedMemory)}, ${s.opsPerSec} ops/s`
      return `<section class="shard"><h2>${esc(title)}</h2><table>${cells(HEAD, 'th')}${members.map((n) => (n.up ? cells(rowOf(n)) : `<tr class="down">${rowOf(n).map((v, i) => `<td${i === 3 ? ` colspan="${HEAD.length - 3}"` : ''}>${esc(String(v))}</td>`).join('')}</tr>`)).join('')}</table></section>`
    })
    .join('\n')
  const summary = `${totals.nodesUp}/${totals.nodes} nodes up, ${totals.keys} keys (${totals.keysWithExpiry} with expiry), ${formatBytes(totals.usedMemory)} used, ${totals.opsPerSec} ops/s, ${totals.clients} clients, ${totals.expiredKeys} expired, ${totals.evictedKeys} evicted, ${totals.rejectedConnections} rejected`
  // `<` escaped: the data can never close its script element.
  const data = JSON.stringify(report).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redis Cluster report ${esc(report.at)}</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:24px;color:#1d2433;background:#fff}
section.shard{overflow-x:auto}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}
.verdict{padding:8px 12px;border-radius:4px;margin:8px 0;display:inline-block}
.ok{background:#dff3e4;color:#14532d}.incomplete{background:#fde2e1;color:#7f1d1d}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d5dd;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f2f4f7}td:nth-child(-n+4){text-align:left}
tr.down td{background:#fde2e1;color:#7f1d1d;text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:24px;margin-top:16px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg text{font:11px system-ui,sans-serif;fill:#1d2433}
</style></head>
<body>
<h1>Redis Cluster report</h1>
<div>read at <time>${esc(report.at)}</time></div>
<div class="verdict ${report.complete ? 'ok' : 'incomplete'}">${report.complete ? 'complete' : 'INCOMPLETE: not every node answered'} &middot; ${esc(summary)}</div>
${shards}
<div class="charts" id="charts"></div>
<script type="application/json" id="report-data">${data}</script>
<script>
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var up = report.nodes.filter(function (n) { return n.up; });
  var NS = 'http://www.w3.org/2000/svg';
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function bytes(v) { var u = ['B', 'K', 'M', 'G', 'T'], i = 0; while (v >= 1024 && i < 4) { v /= 1024; i++; } return (i ? v.toFixed(1) : v) + u[i]; }
  function chart(id, title, items, format) {
    var max = Math.max.apply(null, items.map(function (d) { return d.value; }).concat([1]));
    // The label column fits the longest node name (host:port or an announced hostname), at ~6.6 px a character of 11 px text.
    var longest = Math.max.apply(null, items.map(function (d) { return d.name.length; }).concat([0]));
    var row = 22, label = Math.max(110, Math.ceil(longest * 6.6) + 10), width = label + 310, svg = el('svg', { id: id, width: width, height: items.length * row + 8, role: 'img', 'aria-label': title });
    items.forEach(function (d, i) {
      var w = Math.max(1, (width - label - 90) * d.value / max), y = 4 + i * row;
      svg.appendChild(el('text', { x: 0, y: y + 14 }, d.name));
      svg.appendChild(el('rect', { x: label, y: y + 2, width: w, height: row - 6, fill: d.color || '#2e6fdb', 'data-value': d.value }));
      svg.appendChild(el('text', { x: label + w + 6, y: y + 14 }, format(d.value)));
    });
    var figure = document.createElement('figure'), caption = document.createElement('figcaption');
    caption.textContent = title;
    figure.appendChild(caption);
    figure.appendChild(svg);
    document.getElementById('charts').appendChild(figure);
  }
  chart('chart-keys', 'Keys per node', up.map(function (n) { return { name: n.node, value: n.keys, color: n.role === 'master' ? '#2e6fdb' : '#8fb3ef' }; }), String);
  chart('chart-memory', 'Used memory per node', up.map(function (n) { return { name: n.node, value: n.usedMemory, color: n.maxMemory && n.usedMemory > 0.9 * n.maxMemory ? '#d92d20' : '#12b76a' }; }), bytes);
  chart('chart-lag', 'Replica lag (bytes behind the master)', up.filter(function (n) { return n.role === 'replica'; }).map(function (n) { return { name: n.node, value: n.lagBytes || 0, color: n.linkUp ? '#f79009' : '#d92d20' }; }), bytes);
  document.documentElement.setAttribute('data-charts', 'rendered');
})();
</script>
</body></html>
`
}
