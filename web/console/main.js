// The console's page: sign in with the admin token, then refresh every section every 2 s.
import { Unauthorized, quotas, session, snapshot } from './api.js';
import { renderQuotas, renderSnapshot } from './render.js';

const REFRESH_MS = 2000;

const form = document.getElementById('sign-in');
const tokenField = document.getElementById('token');
const signInError = document.getElementById('sign-in-error');
const dashboard = document.getElementById('dashboard');
const signOut = document.getElementById('sign-out');
const status = document.getElementById('status');

let timer;
// Each sign-in starts a new refresh loop; a loop of an earlier one stops at its next turn.
let generation = 0;

function showSignIn(message = '') {
  generation += 1;
  clearTimeout(timer);
  dashboard.hidden = true;
  signOut.hidden = true;
  form.hidden = false;
  status.textContent = '';
  signInError.textContent = message;
  tokenField.value = '';
  tokenField.focus();
}

/** One refresh: the snapshot (a refused token signs out), then the quotas (their failure is shown in place). */
async function refresh(token) {
  const [shot, quotaReply] = await Promise.all([
    snapshot(token),
    quotas(token).then(
      (reply) => ({ reply }),
      (error) => ({ problem: error.message }),
    ),
  ]);
  renderSnapshot(shot);
  renderQuotas(quotaReply.reply, quotaReply.problem);
  const live = shot.nodes.length;
  status.textContent = `${live} node${live === 1 ? '' : 's'} · asked ${shot.askedNode} · updated ${new Date(shot.at).toLocaleTimeString()}`;
}

async function loop(token, turn) {
  try {
    await refresh(token);
    if (turn !== generation) return;
    status.classList.remove('error');
  } catch (error) {
    if (turn !== generation) return;
    if (error instanceof Unauthorized) {
      session.forget();
      showSignIn('The admin token was refused: sign in again.');
      return;
    }
    status.textContent = `Not updated: ${error.message}`;
    status.classList.add('error');
  }
  timer = setTimeout(() => void loop(token, turn), REFRESH_MS);
}

async function start(token) {
  form.hidden = true;
  dashboard.hidden = false;
  signOut.hidden = false;
  generation += 1;
  await loop(token, generation);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenField.value.trim();
  signInError.textContent = '';
  // Tried before it is kept: a wrong token is said so here, on the form.
  snapshot(token).then(
    () => {
      session.keep(token);
      tokenField.value = '';
      void start(token).then(() => document.getElementById('nodes-heading')?.focus());
    },
    (error) => {
      signInError.textContent =
        error instanceof Unauthorized
          ? 'That admin token is not valid for this node.'
          : `Could not sign in: ${error.message}`;
      tokenField.select();
    },
  );
});

signOut.addEventListener('click', () => {
  session.forget();
  showSignIn();
});

const kept = session.token();
if (kept) void start(kept);
else showSignIn();
