import { Box, Flex, Link } from "@chakra-ui/react";

import { SearchBox } from "./components/SearchBox";
import { AdminPage } from "./pages/AdminPage";
import { AssetPage } from "./pages/AssetPage";
import { CompareRunsPage } from "./pages/CompareRunsPage";
import { DataSourcesPage } from "./pages/DataSourcesPage";
import { EventsPage, RunsPage } from "./pages/ListsPage";
import { DagPage } from "./pages/DagPage";
import { DagRunPage } from "./pages/DagRunPage";
import { DatasetPage } from "./pages/DatasetPage";
import { GraphPage } from "./pages/GraphPage";
import { JobPage } from "./pages/JobPage";
import { OverviewPage } from "./pages/OverviewPage";
import { RunPage } from "./pages/RunPage";
import { SearchPage } from "./pages/SearchPage";
import { TaskInstancePage } from "./pages/TaskInstancePage";
import { href, useRoute, type Route } from "./route";

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "search":
      return <SearchPage route={route} />;
    case "dataset":
      return <DatasetPage route={route} />;
    case "job":
      return <JobPage route={route} />;
    case "run":
      return <RunPage route={route} />;
    case "compare":
      return <CompareRunsPage route={route} />;
    case "graph":
      return <GraphPage route={route} />;
    case "dag":
      return <DagPage route={route} />;
    case "dagrun":
      return <DagRunPage route={route} />;
    case "task":
      return <TaskInstancePage route={route} />;
    case "asset":
      return <AssetPage route={route} />;
    case "admin":
      return <AdminPage route={route} />;
    case "sources":
      return <DataSourcesPage />;
    case "events":
      return <EventsPage route={route} />;
    case "runs":
      return <RunsPage route={route} />;
    default:
      return <OverviewPage />;
  }
}

/** The catalog's sections, in the navigation bar; the current one is marked. */
const NAV = [
  ["", "Overview"],
  ["search", "Search"],
  ["graph", "Lineage graph"],
  ["sources", "Data sources"],
] as const;

export function App() {
  const route = useRoute();
  // Tabs on DAGs and task instances show their page alone; the catalog pages get the navigation bar.
  const embedded = ["dag", "dagrun", "task", "asset"].includes(route.page);
  return (
    <Box minH="100vh" bg="bg" color="fg" fontFamily="Inter, -apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif" fontSize="sm">
      {!embedded && (
        <Flex as="nav" align="center" gap={4} px={4} py={2} borderBottomWidth="1px" wrap="wrap">
          {NAV.map(([page, label]) => (
            <Link
              key={page}
              href={href(page)}
              color="fg"
              fontWeight={route.page === page ? "semibold" : "normal"}
              textDecoration={route.page === page ? "underline" : undefined}
              textUnderlineOffset="6px"
              aria-current={route.page === page ? "page" : undefined}
            >
              {label}
            </Link>
          ))}
          <Box flex="1" />
          <SearchBox />
        </Flex>
      )}
      <Box p={4}>
        <Page route={route} />
      </Box>
    </Box>
  );
}
