// The "Lineage" tab of an Airflow Asset's page (Airflow's `asset` plugin destination, where Airflow
// has one): the catalog dataset the Asset names, or why there is none.
import { Box, Text } from "@chakra-ui/react";

import { assetPage } from "../components/AirflowAssets";
import { Loading, Muted, Name, Problem } from "../components/Common";
import type { Route } from "../route";
import { useApi } from "../useApi";
import { DatasetPage } from "./DatasetPage";

export function AssetPage({ route }: { route: Route }) {
  const assetId = Number(route.parts[0]);
  const found = useApi("airflow/assets/{asset_id}", Number.isInteger(assetId) ? { path: { asset_id: assetId } } : null);
  if (!Number.isInteger(assetId)) return <Problem message={`"${route.parts[0] ?? ""}" is not an Asset id`} />;
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="the Asset" />;
  const asset = found.data;
  if (asset.dataset) {
    const params = new URLSearchParams({ ns: asset.dataset.namespace, name: asset.dataset.name });
    return <DatasetPage route={{ page: "dataset", parts: [], params }} />;
  }
  return (
    <Box p={2} data-testid="asset-without-dataset">
      <Text>
        The catalog has no dataset for the Asset “<Name value={asset.name} />” yet.
      </Text>
      <Muted>
        {asset.openLineage ? (
          <>
            OpenLineage names it <Name value={asset.openLineage.namespace} /> <Name value={asset.openLineage.name} />: once a producer sends lineage of that dataset, it shows here.
          </>
        ) : (
          <>
            No installed provider converts its URI (<Name value={asset.uri} />) to an OpenLineage name. <a href={assetPage(asset.id)}>Its page in Airflow</a>
          </>
        )}
      </Muted>
    </Box>
  );
}
