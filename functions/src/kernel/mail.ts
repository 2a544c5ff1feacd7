import type { DocumentReference, Transaction, WriteBatch } from "firebase-admin/firestore";
import { db } from "./firebase";

/**
 * The outbox: documents in the format of the official "Trigger Email" extension
 * (firebase/extensions firestore-send-email), which sends them in production. Locally they stay in
 * the `mail` collection, where tests and developers read them.
 */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** What the mail is about, for filtering and audits (not read by the extension). */
  category: string;
}

export function queueMail(writer: Transaction | WriteBatch, mail: OutgoingMail, now: Date): DocumentReference {
  const ref = db().collection("mail").doc();
  const doc = { to: mail.to, message: { subject: mail.subject, text: mail.text, html: mail.html }, category: mail.category, createdAt: now };
  (writer as WriteBatch).create(ref, doc); // Transaction.create has the same contract
  return ref;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Plain paragraphs → a minimal HTML body, escaped. */
export const htmlFromParagraphs = (paragraphs: string[]) => paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("\n");
