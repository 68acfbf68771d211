// imgscale's page: uploads chosen or dropped images to one job (a few at a time, each with its
// own progress bar), and shows labels as the workers produce them, from the job's event stream.
'use strict';

const PARALLEL_UPLOADS = 4;
const STATUS_EVERY_MS = 3000;

const $ = (id) => document.getElementById(id);
const state = {
  job: null,          // the job id shown
  own: false,         // whether this page created the job (its rows come from uploads)
  rows: new Map(),    // image name within the job -> table row
  early: new Map(),   // results that came before their upload's answer named them
  queue: [],          // rows waiting to upload
  active: 0,
  stream: null,
  creating: null,
  statusSoon: null,   // a status refresh already planned
  statusAsked: 0,     // status requests sent
  statusShown: 0,     // the newest of them shown
};

function formatBytes(n) {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(n >= 10 << 20 ? 0 : 1) + ' MB';
  if (n >= 1 << 10) return Math.round(n / (1 << 10)) + ' KB';
  return n + ' B';
}

function notice(text) {
  $('notice').textContent = text;
}

function newRow(fileName, file) {
  const tr = document.createElement('tr');
  tr.dataset.file = fileName;
  tr.dataset.state = file ? 'waiting' : 'queued';
  const name = document.createElement('td');
  const box = document.createElement('div');
  box.className = 'name';
  const img = document.createElement('img');
  img.alt = '';
  if (file) img.src = URL.createObjectURL(file);
  const span = document.createElement('span');
  span.textContent = fileName;
  box.append(img, span);
  name.append(box);
  const upload = document.createElement('td');
  const bar = document.createElement('progress');
  bar.max = 1;
  bar.value = file ? 0 : 1;
  bar.setAttribute('aria-label', 'Upload of ' + fileName);
  const text = document.createElement('span');
  text.className = 'upload-text';
  text.textContent = file ? ' waiting' : ' stored';
  upload.append(bar, text);
  const label = document.createElement('td');
  label.className = 'label';
  label.textContent = file ? '' : '…';
  const score = document.createElement('td');
  score.className = 'num score';
  tr.append(name, upload, label, score);
  $('results').tBodies[0].append(tr);
  $('empty').hidden = true;
  return tr;
}

function showResult(tr, r) {
  tr.dataset.name = r.name;
  if (r.error) {
    tr.dataset.state = 'failed';
    tr.querySelector('.label').textContent = r.error + ': ' + (r.message || '');
    tr.querySelector('.score').textContent = '';
  } else {
    tr.dataset.state = 'done';
    tr.querySelector('.label').textContent = r.label;
    tr.querySelector('.score').textContent = r.score != null ? (r.score * 100).toFixed(0) + ' %' : '';
  }
}

function onResult(r) {
  let tr = state.rows.get(r.name);
  if (!tr && !state.own) {
    // a job opened by its link: its rows come from its results
    tr = newRow(r.name, null);
    state.rows.set(r.name, tr);
  }
  if (tr) {
    showResult(tr, r);
  } else {
    state.early.set(r.name, r);
  }
}

function onProgress(p) {
  $('job-panel').hidden = false;
  const bar = $('job-progress');
  bar.max = Math.max(p.total, 1);
  bar.value = p.done;
  let text = p.done + ' of ' + p.total + ' labelled';
  if (p.failed) text += ', ' + p.failed + ' failed';
  if (p.complete) text += ' — complete';
  $('job-count').textContent = text;
  // the status panel follows the job: at most one refresh a second while results stream in
  if (!state.statusSoon) {
    state.statusSoon = setTimeout(() => { state.statusSoon = null; refreshStatus(); }, p.complete ? 0 : 1000);
  }
}

function openStream(job) {
  if (state.stream) state.stream.close();
  const es = new EventSource('/api/jobs/' + encodeURIComponent(job) + '/events');
  es.addEventListener('result', (e) => onResult(JSON.parse(e.data)));
  es.addEventListener('progress', (e) => onProgress(JSON.parse(e.data)));
  es.addEventListener('gone', () => {
    es.close();
    notice('Job ' + job + ' was deleted.');
  });
  es.onerror = () => {
    // EventSource reconnects by itself; results already shown are sent again and simply overwrite
    if (es.readyState === EventSource.CLOSED) notice('The event stream closed; reload the page to reconnect.');
  };
  state.stream = es;
}

function showJob(job, own) {
  state.job = job;
  state.own = own;
  $('job-panel').hidden = false;
  $('job-name').textContent = 'Job ' + job;
  $('job-link').href = '/?job=' + encodeURIComponent(job);
  $('reset-job').disabled = false;
  history.replaceState(null, '', '/?job=' + encodeURIComponent(job));
  openStream(job);
}

async function apiError(response) {
  try {
    const body = await response.json();
    return body.error || response.statusText;
  } catch (e) {
    return response.status + ' ' + response.statusText;
  }
}

async function ensureJob() {
  if (state.job && state.own) return state.job;
  if (!state.creating) {
    state.creating = (async () => {
      const response = await fetch('/api/jobs', {
        method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}',
      });
      if (!response.ok) throw new Error(await apiError(response));
      const body = await response.json();
      clearRows();
      showJob(body.job, true);
      return body.job;
    })();
    state.creating.catch(() => { state.creating = null; });
  }
  return state.creating;
}

function clearRows() {
  state.rows.clear();
  state.early.clear();
  $('results').tBodies[0].replaceChildren();
  $('empty').hidden = false;
}

function upload(item) {
  const {file, tr} = item;
  const bar = tr.querySelector('progress');
  const text = tr.querySelector('.upload-text');
  tr.dataset.state = 'uploading';
  text.textContent = ' 0 %';
  const form = new FormData();
  form.append('files', file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/api/jobs/' + encodeURIComponent(state.job) + '/images');
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) {
      bar.value = e.loaded / e.total;
      text.textContent = ' ' + Math.round(100 * e.loaded / e.total) + ' %';
    }
  };
  xhr.onload = () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (xhr.status === 201 && body && body.images && body.images.length) {
      const name = body.images[0].name;
      bar.value = 1;
      text.textContent = ' ' + formatBytes(file.size);
      tr.dataset.state = 'queued';
      tr.querySelector('.label').textContent = '…';
      state.rows.set(name, tr);
      const early = state.early.get(name);
      if (early) {
        state.early.delete(name);
        showResult(tr, early);
      }
    } else {
      tr.dataset.state = 'refused';
      text.textContent = ' refused';
      tr.querySelector('.label').textContent = (body && body.error) || ('HTTP ' + xhr.status);
    }
    done();
  };
  xhr.onerror = () => {
    tr.dataset.state = 'refused';
    text.textContent = ' failed';
    tr.querySelector('.label').textContent = 'The upload failed (network); try again.';
    done();
  };
  xhr.send(form);

  function done() {
    state.active--;
    pump();
  }
}

function pump() {
  while (state.active < PARALLEL_UPLOADS && state.queue.length) {
    state.active++;
    upload(state.queue.shift());
  }
}

async function addFiles(files) {
  const list = Array.from(files);
  if (!list.length) return;
  try {
    await ensureJob();
  } catch (e) {
    notice('Could not create a job: ' + e.message);
    return;
  }
  for (const file of list) {
    state.queue.push({file, tr: newRow(file.name, file)});
  }
  notice(list.length + ' image' + (list.length === 1 ? '' : 's') + ' added to job ' + state.job + '.');
  pump();
}

async function refreshStatus() {
  // refreshes overlap (the timer and the job's progress both ask): only a newer answer is shown
  const seq = ++state.statusAsked;
  try {
    const response = await fetch('/api/status');
    if (!response.ok) throw new Error(await apiError(response));
    const s = await response.json();
    if (seq < state.statusShown) return;
    state.statusShown = seq;
    $('stack-line').textContent = 'stack ' + s.stack + (s.local ? ' (local)' : ' (AWS)') + ' · model ' + s.model;
    $('q-visible').textContent = s.queues.requests.visible;
    $('q-flight').textContent = s.queues.requests.inFlight;
    $('q-dead').textContent = s.queues.deadLetters.visible;
    $('s-waiting').textContent = s.server.waiting;
    $('max-file').textContent = formatBytes(s.limits.maxFileBytes);
    const ul = $('recent');
    ul.replaceChildren();
    for (const j of s.jobs) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '/?job=' + encodeURIComponent(j.job);
      a.textContent = j.job;
      const n = document.createElement('span');
      n.textContent = j.done + '/' + j.total;
      li.append(a, n);
      ul.append(li);
    }
    if (!s.jobs.length) ul.innerHTML = '<li class="muted">none</li>';
  } catch (e) {
    $('stack-line').textContent = 'Status unavailable: ' + e.message;
  }
}

async function resetJob() {
  if (!state.job || !confirm('Delete job ' + state.job + ' with its images and results?')) return;
  const response = await fetch('/api/jobs/' + encodeURIComponent(state.job), {method: 'DELETE'});
  if (!response.ok) {
    notice('Could not delete the job: ' + await apiError(response));
    return;
  }
  const body = await response.json();
  notice('Deleted job ' + body.job + ' (' + body.deleted + ' objects).');
  forgetJob();
}

async function resetAll() {
  if (!confirm('Empty the whole stack? Every job, image and result is deleted and the queues are purged.')) return;
  const response = await fetch('/api/jobs?all=yes', {method: 'DELETE'});
  if (!response.ok) {
    notice('Could not reset: ' + await apiError(response));
    return;
  }
  const body = await response.json();
  notice('The stack is empty (' + body.deleted + ' objects deleted).');
  forgetJob();
}

function forgetJob() {
  if (state.stream) state.stream.close();
  state.stream = null;
  state.job = null;
  state.own = false;
  state.creating = null;
  state.queue.length = 0;
  clearRows();
  $('job-panel').hidden = true;
  $('reset-job').disabled = true;
  history.replaceState(null, '', '/');
  refreshStatus();
}

function setUpDrop() {
  const drop = $('drop');
  const input = $('files');
  input.addEventListener('change', () => {
    addFiles(input.files);
    input.value = '';
  });
  ['dragenter', 'dragover'].forEach((type) => drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach((type) => drop.addEventListener(type, () => drop.classList.remove('over')));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    addFiles(e.dataTransfer.files);
  });
  // a drop that misses the zone must not navigate away from the page and its uploads
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
}

document.addEventListener('DOMContentLoaded', () => {
  setUpDrop();
  $('reset-job').addEventListener('click', resetJob);
  $('reset-all').addEventListener('click', resetAll);
  const job = new URLSearchParams(location.search).get('job');
  if (job) showJob(job, false);
  refreshStatus();
  setInterval(refreshStatus, STATUS_EVERY_MS);
});
