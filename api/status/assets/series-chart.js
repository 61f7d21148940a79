// The source page's chart: one line per revision of the chosen series (how each value was revised), the
// latest drawn thick and in colour, older revisions thinner and paler the older they are. The data is the
// JSON the page embeds in <script id="vintages" type="application/json">; Chart.js is loaded before this.
(() => {
  const source = document.getElementById('vintages');
  const canvas = document.getElementById('vintage-chart');
  if (!source || !canvas) return;
  const data = JSON.parse(source.textContent);
  const last = data.vintages.length - 1;
  const datasets = data.vintages.map((vintage, i) => {
    const latest = i === last;
    // Older is lighter: lightness from 80 % (oldest) to 45 % (the one before the latest).
    const lightness = last > 1 ? 80 - (35 * i) / (last - 1) : 60;
    const colour = latest ? '#c2410c' : `hsl(215, 25%, ${lightness}%)`;
    return {
      label: `revision ${vintage.revision} (${vintage.createdAt})${latest ? ' latest' : ''}`,
      revision: vintage.revision,
      data: vintage.values,
      borderColor: colour,
      backgroundColor: colour,
      borderWidth: latest ? 3 : 1.5,
      pointRadius: latest ? 3.5 : 2,
      // A period the revision did not have is a gap, not a line drawn through it.
      spanGaps: false,
      // Drawn over the others (a lower order is drawn later); the legend keeps revision order (below).
      order: latest ? 0 : 1,
    };
  });
  new Chart(canvas, {
    type: 'line',
    data: { labels: data.periods, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { title: { display: true, text: 'period' } },
        y: { title: { display: true, text: data.unit ? `value (${data.unit})` : 'value' } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { sort: (a, b) => a.datasetIndex - b.datasetIndex } },
        title: { display: true, text: `${data.seriesKey}: values as of each revision` },
      },
    },
  });
})();
