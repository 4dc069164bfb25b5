// Live job progress over Server-Sent Events; re-attaches after a reload (the server replays the log).
(function () {
  var root = document.getElementById('job');
  if (!root || root.getAttribute('data-active') !== '1' || !window.EventSource) return;
  var id = root.getAttribute('data-job-id');
  var log = document.getElementById('job-log');
  var bar = document.getElementById('job-bar');
  var progress = document.getElementById('job-progress');
  var state = document.getElementById('job-state');
  var message = document.getElementById('job-message');
  var strings = document.getElementById('job-strings').dataset;
  var colours = { succeeded: 'success', failed: 'danger', interrupted: 'warning', running: 'primary', queued: 'secondary' };
  var first = true;
  var source = new EventSource('/jobs/' + id + '/events');
  source.addEventListener('log', function (event) {
    if (first) { log.textContent = ''; first = false; }
    var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.textContent += (log.textContent ? '\n' : '') + JSON.parse(event.data);
    if (atBottom) log.scrollTop = log.scrollHeight;
  });
  source.addEventListener('state', function (event) {
    var job = JSON.parse(event.data);
    bar.className = 'progress-bar bg-' + colours[job.state] + (job.state === 'running' || job.state === 'queued' ? ' progress-bar-striped progress-bar-animated' : '');
    bar.style.width = job.progress + '%';
    bar.textContent = job.progress + '%';
    progress.setAttribute('aria-valuenow', String(job.progress));
    state.textContent = strings[job.state] || job.state;
    state.className = 'badge text-bg-' + colours[job.state];
    state.setAttribute('data-state', job.state);
    message.textContent = job.state === 'running' || job.state === 'queued' ? (job.message || '') : '';
    if (job.state === 'succeeded') document.getElementById('job-result').classList.remove('d-none');
    if (job.state === 'failed') {
      var failed = document.getElementById('job-failed');
      failed.classList.remove('d-none');
      var code = document.createElement('code');
      code.textContent = ' ' + (job.error || '');
      failed.appendChild(code);
    }
    if (job.state !== 'running' && job.state !== 'queued') source.close();
  });
})();
