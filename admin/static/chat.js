/*
 * 巨好办 web chat (served by admin/chat.py; no build step).
 *
 * Talks to the Rasa server's socket.io channel (bot.channels.webchat.WebChatInput, rasa/core/channels/socketio.py):
 * on every (re)connection it emits "session_request" {session_id} (null the first time: the server makes one) and
 * the server answers "session_confirm" with the session id, joining this socket to the room of that id. With
 * session_persistence the session id is the conversation's sender id, so everything Rasa says to it — replies and
 * pushed case updates (trigger_intent with output_channel=socketio) — arrives here as "bot_uttered"
 * {text[, quick_replies]}. The resident's messages go out as "user_uttered" {message, session_id}.
 *
 * The session id and the last messages are kept in localStorage: a reload continues the same conversation.
 * Every text is put into the page with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  const SESSION_KEY = "juhaoban.chat.session";
  const HISTORY_KEY = "juhaoban.chat.history";
  const HISTORY_LIMIT = 200;
  const DEFAULT_PORT = "5005";
  const WELCOME = "您好！这里是巨好办。请直接说您遇到的问题：什么事、在哪儿，我们帮您转给负责的部门办理，并告诉您办理时限。";
  const STATES = { connecting: "连接中", connected: "已连接", disconnected: "连接断开" };
  const RETRY_MS = 5000;

  const root = document.getElementById("chat");
  const list = document.getElementById("chat-messages");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const sendButton = document.getElementById("chat-send");
  const status = document.getElementById("chat-status");
  const restartButton = document.getElementById("chat-new");

  const storage = openStorage();
  let sessionId = storage.get(SESSION_KEY);
  let confirmed = false;
  let socket = null;

  // localStorage can be missing or refuse writes (private windows, blocked third-party storage in an iframe):
  // the chat then works without remembering anything across reloads.
  function openStorage() {
    const memory = new Map();
    let local = null;
    try {
      local = window.localStorage;
      local.setItem("juhaoban.chat.probe", "1");
      local.removeItem("juhaoban.chat.probe");
    } catch (error) {
      local = null;
    }
    return {
      get(key) {
        try { return local ? local.getItem(key) : (memory.get(key) || null); } catch (error) { return null; }
      },
      set(key, value) {
        try { if (local) { local.setItem(key, value); } else { memory.set(key, value); } } catch (error) { /* full */ }
      },
      remove(key) {
        try { if (local) { local.removeItem(key); } else { memory.delete(key); } } catch (error) { /* ignore */ }
      },
    };
  }

  function loadHistory() {
    try {
      const entries = JSON.parse(storage.get(HISTORY_KEY) || "[]");
      return Array.isArray(entries)
        ? entries.filter((e) => e && (e.from === "bot" || e.from === "user") && typeof e.text === "string")
        : [];
    } catch (error) {
      return [];
    }
  }

  function remember(from, text) {
    // Read again before writing: another tab of the same conversation may have written meanwhile.
    const entries = loadHistory();
    entries.push({ from: from, text: text });
    storage.set(HISTORY_KEY, JSON.stringify(entries.slice(-HISTORY_LIMIT)));
  }

  // Where Rasa is: JUHAOBAN_CHAT_SOCKET_URL as rendered by the server, else this host on port 5005. A ?socket=
  // parameter may choose another port or path of the same host, never another host (a link must not be able to put
  // the county's page in front of someone else's bot).
  function socketTarget() {
    const fallback = location.protocol + "//" + location.hostname + ":" + DEFAULT_PORT;
    let base = parseHttpUrl(root.getAttribute("data-socket-url")) || parseHttpUrl(fallback);
    const override = parseHttpUrl(new URLSearchParams(location.search).get("socket"));
    if (override && (override.hostname === location.hostname || override.hostname === base.hostname)) {
      base = override;
    }
    return { origin: base.origin, path: base.pathname.replace(/\/+$/, "") + "/socket.io" };
  }

  function parseHttpUrl(text) {
    if (!text) {
      return null;
    }
    try {
      const url = new URL(text, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch (error) {
      return null;
    }
  }

  function setState(state) {
    status.setAttribute("data-state", state);
    status.textContent = STATES[state];
    sendButton.disabled = state !== "connected";
  }

  function addMessage(kind, text, quickReplies) {
    const item = document.createElement("li");
    item.className = kind === "note" ? "message note" : "message from-" + kind;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    if (quickReplies && quickReplies.length) {
      bubble.appendChild(quickReplyButtons(quickReplies));
    }
    item.appendChild(bubble);
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function quickReplyButtons(quickReplies) {
    const row = document.createElement("div");
    row.className = "quick-replies";
    quickReplies.forEach((reply) => {
      const title = String(reply.title || reply.payload || "");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quick-reply";
      button.textContent = title;
      button.addEventListener("click", () => sendText(String(reply.payload || title), title));
      row.appendChild(button);
    });
    return row;
  }

  function showBotMessage(data) {
    if (!data || data.text === undefined || data.text === null) {
      return; // images and custom payloads: the bot sends none to this channel
    }
    const text = String(data.text);
    addMessage("bot", text, Array.isArray(data.quick_replies) ? data.quick_replies : null);
    remember("bot", text);
  }

  // Sends ``message`` (shown as ``shown``, e.g. a button's title); only once the server confirmed the session, so
  // the reply cannot go to a room this socket has not joined yet. Returns whether it was sent.
  function sendText(message, shown) {
    const text = message.trim();
    if (!text || !confirmed) {
      return false;
    }
    socket.emit("user_uttered", { message: text, session_id: sessionId });
    const display = shown || text;
    addMessage("user", display);
    remember("user", display);
    return true;
  }

  function submitInput() {
    if (sendText(input.value)) {
      input.value = "";
    }
    input.focus();
  }

  function startOver() {
    sessionId = null;
    confirmed = false;
    storage.remove(SESSION_KEY);
    storage.remove(HISTORY_KEY);
    list.replaceChildren();
    addMessage("bot", WELCOME);
    // A new connection leaves the old conversation's room: its pushes no longer reach this page.
    if (socket) {
      socket.disconnect();
      socket.connect();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitInput();
  });
  input.addEventListener("keydown", (event) => {
    // Enter while a Chinese input method is composing picks a candidate; it must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitInput();
    }
  });
  restartButton.addEventListener("click", startOver);

  addMessage("bot", WELCOME);
  loadHistory().forEach((entry) => addMessage(entry.from, entry.text));

  if (typeof window.io !== "function") {
    setState("disconnected");
    addMessage("note", "聊天组件没有加载成功，请刷新页面重试。");
    return;
  }

  const target = socketTarget();
  socket = window.io(target.origin, { path: target.path, reconnectionDelayMax: 10000 });

  socket.on("connect", () => {
    confirmed = false;
    setState("connecting");
    socket.emit("session_request", { session_id: sessionId || null });
  });
  socket.on("session_confirm", (data) => {
    const id = typeof data === "string" ? data : data && data.session_id;
    if (!id) {
      return;
    }
    sessionId = String(id);
    storage.set(SESSION_KEY, sessionId);
    confirmed = true;
    setState("connected");
  });
  socket.on("bot_uttered", showBotMessage);
  socket.on("disconnect", (reason) => {
    confirmed = false;
    setState("disconnected");
    if (reason === "io server disconnect") {
      setTimeout(() => socket.connect(), RETRY_MS); // the server closed it: the client would not come back itself
    }
  });
  socket.on("connect_error", () => {
    confirmed = false;
    setState("disconnected");
    if (!socket.active) {
      setTimeout(() => socket.connect(), RETRY_MS);
    }
  });
  socket.io.on("reconnect_attempt", () => setState("connecting"));
})();
