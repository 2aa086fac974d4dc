// jira.js 6 (npm, unmodified) reading a board's issues, its backlog and a sprint's issues
// through /rest/software/1.0, page by page with nextPageToken, as its users would.
// Usage: node jirajs_board.mjs  (JIRA_HOST, JIRA_EMAIL, JIRA_TOKEN, BOARD_ID, SPRINT_ID set)
// Prints one JSON object: the issue keys each read returned, in order, and the counts.
import { createAgileClient } from 'jira.js';

const env = process.env;
const agile = createAgileClient({
  host: env.JIRA_HOST,
  auth: { type: 'basic', email: env.JIRA_EMAIL, apiToken: env.JIRA_TOKEN },
});
const boardId = Number(env.BOARD_ID);
const sprintId = Number(env.SPRINT_ID);

async function all(read, params) {
  const keys = [];
  let nextPageToken;
  for (let page = 0; page < 1000; page += 1) {
    const result = await read({ ...params, maxResults: 7, nextPageToken });
    keys.push(...result.issues.map((issue) => issue.key));
    if (result.isLast) return keys;
    nextPageToken = result.nextPageToken;
  }
  throw new Error('more than 1000 pages');
}

const out = {
  board: await all((p) => agile.board.getIssuesForBoard(p), { boardId }),
  backlog: await all((p) => agile.board.getIssuesForBacklog(p), { boardId }),
  boardSprint: await all((p) => agile.board.getBoardIssuesForSprint(p), { boardId, sprintId }),
  sprint: await all((p) => agile.sprint.getIssuesForSprint(p), { sprintId }),
  bugs: await all((p) => agile.board.getIssuesForBoard(p), { boardId, jql: 'type = Bug' }),
  boardCount: (await agile.board.getApproximateIssueCountForBoard({ boardId })).count,
  backlogCount: (await agile.board.getApproximateIssueCountForBacklog({ boardId })).count,
};
process.stdout.write(JSON.stringify(out));
